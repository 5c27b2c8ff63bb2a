import { lstatSync, readFileSync } from "node:fs";
import { ORG_DIR } from "../../config/workspace-paths.ts";

// org's code as one CommonJS file with its bytecode (`npm run build`, and `npm install` after installing): a command
// then starts without parsing and compiling the ~900 modules it would load from source, about 0.6x the CPU of an
// `org chat` start. It is trusted only while every file it was built from is the file it was built from.

/** Bumped when what a build writes changes, so an older build is not taken for this one. */
export const PREBUILT_FORMAT = 1;

/** The folder of a checkout's build, under its `.org/` (per checkout, never committed, masked in every sandbox). */
export function prebuiltDir(checkoutDir: string): string {
  return `${checkoutDir}/${ORG_DIR}/prebuilt`;
}

/** The bundle's file in `prebuiltDir`, the bytecode beside it as `<file>.jsc`. */
export const PREBUILT_FILE = "org-main.js";
export const PREBUILT_MANIFEST = "manifest.json";

/**
 * What a file was when the build read it: device, inode, size, and the modification and change times in
 * milliseconds. The change time cannot be set from user space: a file written, renamed over, chmodded or touched
 * has another one, so a file that still has all five is the file the bundle holds.
 */
export type FileStamp = [path: string, dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number];

/** What a build wrote beside its bundle: whose code, built by which bun, from which files. */
export type PrebuiltManifest = { format: number; bun: string; checkout: string; files: FileStamp[] };

/** `path`'s stamp now; undefined when it is gone or not a regular file (a link is not followed). */
export function fileStamp(path: string): FileStamp | undefined {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat?.isFile() ? [path, stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.ctimeMs] : undefined;
}

function sameStamp(kept: unknown): boolean {
  if (!Array.isArray(kept) || kept.length !== 6 || typeof kept[0] !== "string") return false;
  return fileStamp(kept[0])?.every((value, index) => value === kept[index]) === true;
}

/**
 * The bundle to run for `checkoutDir`'s code, or undefined when there is none or it is not exactly this code: built
 * for another checkout, by another bun or format, or from a file that has changed, gone, or (the bundle's own files
 * among them) been replaced since. Any doubt (a manifest that does not parse or has another shape) is a no: org
 * then runs from source, as it always can.
 */
export function prebuiltBundle(checkoutDir: string): string | undefined {
  const dir = prebuiltDir(checkoutDir);
  let manifest: Partial<PrebuiltManifest>;
  try {
    manifest = JSON.parse(readFileSync(`${dir}/${PREBUILT_MANIFEST}`, "utf8"));
  } catch {
    return undefined;
  }
  if (manifest?.format !== PREBUILT_FORMAT || manifest.bun !== Bun.version || manifest.checkout !== checkoutDir) return undefined;
  const files = manifest.files;
  if (!Array.isArray(files) || files.length === 0) return undefined;
  const bundle = `${dir}/${PREBUILT_FILE}`;
  const listed = new Set(files.map((stamp) => (Array.isArray(stamp) ? stamp[0] : undefined)));
  if (!listed.has(bundle) || !listed.has(`${bundle}.jsc`)) return undefined;
  return files.every(sameStamp) ? bundle : undefined;
}
