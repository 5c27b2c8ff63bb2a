import { lstatSync, readFileSync, realpathSync } from "node:fs";
import { ORG_DIR } from "../../config/workspace-paths.ts";

// org's code as one CommonJS file with its bytecode (`npm run build`, and `npm install` after installing): a command
// then starts without parsing and compiling the ~900 modules it would load from source, about 0.6x the CPU of an
// `org chat` start. It is trusted only while every file it was built from is the file it was built from.

/** Bumped when what a build writes changes, so an older build is not taken for this one. */
export const PREBUILT_FORMAT = 3;

/** The folder of a checkout's build, under its `.org/` (per checkout, never committed, masked in every sandbox). */
export function prebuiltDir(checkoutDir: string): string {
  return `${checkoutDir}/${ORG_DIR}/prebuilt`;
}

/**
 * The bundles a build makes, each from one entry of main.ts: `org-main` runs every command; `sandbox-main` runs `org
 * sandbox` alone, since loading the whole bundle costs more than that command's fifty modules do from source.
 */
export const PREBUILT_NAMES = ["org-main", "sandbox-main"] as const;
export type PrebuiltName = (typeof PREBUILT_NAMES)[number];

/** The entry a bundle is built from, relative to the checkout: `cli/<name>.ts`. */
export function prebuiltEntry(name: PrebuiltName): string {
  return `cli/${name}.ts`;
}

/** A bundle's file in `prebuiltDir`, with its bytecode beside it as `<file>.jsc` and its source map as `<file>.map`. */
export function prebuiltFile(name: PrebuiltName): string {
  return `${name}.js`;
}

/** The files a build writes for one bundle: the bundle, its bytecode and its source map. */
export function prebuiltOwnFiles(name: PrebuiltName): string[] {
  return [prebuiltFile(name), `${prebuiltFile(name)}.jsc`, `${prebuiltFile(name)}.map`];
}

/** The manifest of one bundle in `prebuiltDir`: a start reads only the one of the bundle it would run. */
export function prebuiltManifestFile(name: PrebuiltName): string {
  return `${name}.manifest.json`;
}

/**
 * What a file or folder was when the build read it: device, inode, size, and the modification and change times in
 * milliseconds. The change time cannot be set from user space: a file written, renamed over, chmodded or touched has
 * another one, and so has a folder an entry was added to or removed from.
 */
export type FileStamp = [path: string, dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number];

/**
 * What a build wrote beside each bundle: whose code, built by which bun, from which files (`files`: what bun read for
 * that bundle and what decided how it read them; the bundle's own files among them), in which folders an import
 * probed (`folders`, a package's: a file added there could be found instead; org's own imports spell their files),
 * with which `node_modules` (its real path: the link may be pointed at another tree), and where a `node_modules`
 * folder would have been found had there been one (`absent`).
 */
export type PrebuiltManifest = {
  format: number;
  bun: string;
  checkout: string;
  modules: string | null;
  files: FileStamp[];
  folders: FileStamp[];
  absent: string[];
};

function stampOf(path: string, kind: "file" | "folder"): FileStamp | undefined {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  const isKind = kind === "file" ? stat?.isFile() : stat?.isDirectory();
  return stat && isKind ? [path, stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.ctimeMs] : undefined;
}

/** `path`'s stamp now; undefined when it is gone or not a regular file (a link is not followed). */
export function fileStamp(path: string): FileStamp | undefined {
  return stampOf(path, "file");
}

/** A folder's stamp now; undefined when it is gone or not a folder (a link is not followed). */
export function folderStamp(path: string): FileStamp | undefined {
  return stampOf(path, "folder");
}

/** Where `checkoutDir`'s node_modules really is (the link followed), or null without one. */
export function modulesDir(checkoutDir: string): string | null {
  try {
    return realpathSync(`${checkoutDir}/node_modules`);
  } catch {
    return null;
  }
}

/** Whether `kept` is a stamp whose file or folder is still what it stamped (fields compared in place: a start checks ~1 000). */
function stands(kept: unknown, kind: "file" | "folder"): boolean {
  if (!Array.isArray(kept) || kept.length !== 6 || typeof kept[0] !== "string") return false;
  const stat = lstatSync(kept[0], { throwIfNoEntry: false });
  return (
    stat !== undefined &&
    (kind === "file" ? stat.isFile() : stat.isDirectory()) &&
    stat.dev === kept[1] &&
    stat.ino === kept[2] &&
    stat.size === kept[3] &&
    stat.mtimeMs === kept[4] &&
    stat.ctimeMs === kept[5]
  );
}

function allStand(stamps: readonly unknown[], kind: "file" | "folder"): boolean {
  for (const stamp of stamps) if (!stands(stamp, kind)) return false;
  return true;
}

/**
 * The bundle `name` to run for `checkoutDir`'s code, or undefined when there is none or it is not exactly this code: built
 * for another checkout, by another bun or format, over another node_modules, from a file or folder that has changed,
 * gone, or (the bundle's own files among them) been replaced since, or where a node_modules has appeared. Any doubt (a
 * manifest that does not parse or has another shape) is a no: org then runs from source, as it always can.
 */
export function prebuiltBundle(checkoutDir: string, name: PrebuiltName = "org-main"): string | undefined {
  const dir = prebuiltDir(checkoutDir);
  let manifest: Partial<PrebuiltManifest>;
  try {
    manifest = JSON.parse(readFileSync(`${dir}/${prebuiltManifestFile(name)}`, "utf8"));
  } catch {
    return undefined;
  }
  if (manifest?.format !== PREBUILT_FORMAT || manifest.bun !== Bun.version || manifest.checkout !== checkoutDir) return undefined;
  const { files, folders, absent } = manifest;
  if (!Array.isArray(files) || files.length === 0 || !Array.isArray(folders) || !Array.isArray(absent)) return undefined;
  const listed = new Set(files.map((stamp) => (Array.isArray(stamp) ? stamp[0] : undefined)));
  if (!prebuiltOwnFiles(name).every((own) => listed.has(`${dir}/${own}`))) return undefined;
  if (manifest.modules !== modulesDir(checkoutDir)) return undefined;
  if (absent.some((path) => typeof path !== "string" || lstatSync(path, { throwIfNoEntry: false }) !== undefined)) return undefined;
  const stood = allStand(files, "file") && allStand(folders, "folder");
  return stood ? `${dir}/${prebuiltFile(name)}` : undefined;
}
