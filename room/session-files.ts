import { closeSync, fstatSync, readSync } from "node:fs";
import { openFileBelow, SandboxFileError } from "../sandbox/read-sandbox-file.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { isScreenshotPath } from "./tool-summary.ts";

/** The most a screenshot read back from a session's folder may weigh. */
export const SCREENSHOT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The most pixels a screenshot read back may say it has: a full page 2560 wide and as tall as Chromium draws one
 * (32 767), about 400 MB once decoded. A PNG of a few kilobytes can claim 60 000 × 60 000 (14 GB decoded), which the web
 * room's tab or a Telegram client would try to decode.
 */
export const SCREENSHOT_MAX_PIXELS = 100_000_000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IHDR = [0x49, 0x48, 0x44, 0x52];

/** Why a PNG's header (its signature, then IHDR's width and height) is not a screenshot's; undefined when it is one. */
function pngProblem(png: Uint8Array): string | undefined {
  if (!PNG_SIGNATURE.every((byte, index) => png[index] === byte)) return "is not a PNG image";
  if (png.length < 24 || !IHDR.every((byte, index) => png[12 + index] === byte)) return "is not a PNG image (no IHDR first)";
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const [width, height] = [view.getUint32(16), view.getUint32(20)];
  if (width === 0 || height === 0 || width * height > SCREENSHOT_MAX_PIXELS)
    return `says it is ${width} × ${height} pixels, more than the ${SCREENSHOT_MAX_PIXELS} a screenshot may have`;
  return undefined;
}

/**
 * The folder of a session's own files, where the browser saves its screenshots and its `data.screenshot` paths are
 * relative to: the session's scratch (`.org/scratch/<id>/`, `/scratch` in its sandbox), as the tool writes them.
 */
export function sessionFolder(workspaceDir: string, sessionId: string): string {
  return scratchDirFor({ workspaceDir, sessionId });
}

/** Why a screenshot could not be read back: the message says it to a person. */
export type ScreenshotRefusal = { refused: string };

/**
 * A screenshot of a session's folder, read whole: its path as the browser gave it must be one (relative, `.png`), lead
 * to a regular file of one name inside that folder through no link, weigh at most SCREENSHOT_MAX_BYTES and begin with
 * PNG's signature and a header of at most SCREENSHOT_MAX_PIXELS. The folder is the session's scratch, which its
 * sandboxed commands write while this reads, so whatever lies there is hostile: the path is walked one folder at a time
 * from the session's own (`openFileBelow`), so a folder swapped for a link after any check is still not followed; each
 * check is made on the file as opened (a FIFO opens without blocking and is refused), and a file with a second name (a
 * hard link to one outside) is refused.
 */
export function readScreenshot(workspaceDir: string, sessionId: string, path: string): Uint8Array | ScreenshotRefusal {
  if (!isScreenshotPath(path)) return { refused: `"${path}" is not a screenshot's path (a relative path ending in .png)` };
  let descriptor: number | undefined;
  try {
    descriptor = openFileBelow(sessionFolder(workspaceDir, sessionId), path);
  } catch (error) {
    if (error instanceof SandboxFileError) return { refused: error.message };
    throw error;
  }
  if (descriptor === undefined) return { refused: `no screenshot ${path} in this session` };
  try {
    const stat = fstatSync(descriptor);
    if (!stat.isFile()) return { refused: `${path} is not a file` };
    if (stat.nlink !== 1) return { refused: `${path} has more than one name (a hard link); it was not read` };
    if (stat.size > SCREENSHOT_MAX_BYTES) return { refused: `${path} is over ${SCREENSHOT_MAX_BYTES} bytes` };
    const bytes = new Uint8Array(stat.size);
    let read = 0;
    while (read < bytes.length) {
      const got = readSync(descriptor, bytes, read, bytes.length - read, read);
      if (got === 0) break;
      read += got;
    }
    const png = bytes.subarray(0, read);
    const problem = pngProblem(png);
    if (problem !== undefined) return { refused: `${path} ${problem}` };
    return png;
  } finally {
    closeSync(descriptor);
  }
}
