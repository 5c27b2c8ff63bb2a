import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { isScreenshotPath } from "./tool-summary.ts";

/** The most a screenshot read back from a session's folder may weigh. */
export const SCREENSHOT_MAX_BYTES = 8 * 1024 * 1024;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

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
 * to a regular file inside that folder through no link, weigh at most SCREENSHOT_MAX_BYTES and begin with PNG's
 * signature. The folder is the session's scratch, which its sandboxed commands write too, so whatever lies there is
 * hostile: each of these is checked on the file as opened (a FIFO put in its place is opened without blocking and
 * refused, a link is not followed).
 */
export function readScreenshot(workspaceDir: string, sessionId: string, path: string): Uint8Array | ScreenshotRefusal {
  if (!isScreenshotPath(path)) return { refused: `"${path}" is not a screenshot's path (a relative path ending in .png)` };
  const folder = sessionFolder(workspaceDir, sessionId);
  let descriptor: number;
  try {
    if (!lstatSync(folder).isDirectory()) return { refused: "this session's folder is not a folder" };
    const real = realpathSync(join(folder, path));
    if (!real.startsWith(realpathSync(folder) + sep)) return { refused: `${path} leads out of the session's folder` };
    descriptor = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return { refused: `no screenshot ${path} in this session` };
  }
  try {
    const stat = fstatSync(descriptor);
    if (!stat.isFile()) return { refused: `${path} is not a file` };
    if (stat.size > SCREENSHOT_MAX_BYTES) return { refused: `${path} is over ${SCREENSHOT_MAX_BYTES} bytes` };
    const bytes = new Uint8Array(stat.size);
    let read = 0;
    while (read < bytes.length) {
      const got = readSync(descriptor, bytes, read, bytes.length - read, read);
      if (got === 0) break;
      read += got;
    }
    const png = bytes.subarray(0, read);
    if (!PNG_SIGNATURE.every((byte, index) => png[index] === byte)) return { refused: `${path} is not a PNG image` };
    return png;
  } finally {
    closeSync(descriptor);
  }
}
