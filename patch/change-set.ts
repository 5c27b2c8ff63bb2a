import { chmodSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, type Stats } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { executableSearchPath } from "../config/environment.ts";

/** How one file differs between the repository and the model's copy. */
export type ChangedFile = { path: string; change: "added" | "modified" | "deleted" };

/** A change a patch cannot carry (a link, a FIFO, a device, a file too big), with why. */
export type RefusedChange = { path: string; reason: string };

/** What the model's copy changed, file by file (directories are not files: an empty one is no change). */
export type ChangeSet = { files: ChangedFile[]; refused: RefusedChange[] };

/** Top-level names that are never part of a patch: the repository's git state and org's private state. */
const NEVER_COPIED = new Set([".git", ".org"]);
/** A changed file larger than this is refused: a patch is for source, not for data. */
export const MAX_PATCH_FILE_BYTES = 16 * 1024 * 1024;
/** Entries one tree may hold; the sandbox's scratch bounds the copy well below it. */
const MAX_ENTRIES = 200_000;

type Entry = { kind: "file"; size: number; executable: boolean } | { kind: "link"; target: string } | { kind: "other"; what: string };

/** Whether a top-level name is left out of the copy and of the change set. */
export function isNeverCopied(relativePath: string): boolean {
  return NEVER_COPIED.has(relativePath.split("/")[0] ?? "");
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device file";
  return "not a regular file";
}

/** Every file, link and odd entry under `root` by relative path; never follows a link. */
function walk(root: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const pending = [""];
  for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
    for (const name of readdirSync(join(root, directory))) {
      const path = directory === "" ? name : `${directory}/${name}`;
      if (isNeverCopied(path)) continue;
      const stat = lstatSync(join(root, path));
      if (stat.isDirectory()) pending.push(path);
      else if (stat.isFile()) entries.set(path, { kind: "file", size: stat.size, executable: (stat.mode & 0o100) !== 0 });
      else if (stat.isSymbolicLink()) entries.set(path, { kind: "link", target: readlinkSync(join(root, path)) });
      else entries.set(path, { kind: "other", what: kindOf(stat) });
      if (entries.size > MAX_ENTRIES) throw new RangeError(`${root} holds more than ${MAX_ENTRIES} files: org patch works on smaller trees`);
    }
  }
  return entries;
}

function sameFile(originalDir: string, copyDir: string, path: string, before: Entry & { kind: "file" }, after: Entry & { kind: "file" }): boolean {
  if (before.size !== after.size || before.executable !== after.executable) return false;
  return readFileSync(join(originalDir, path)).equals(readFileSync(join(copyDir, path)));
}

/**
 * Compares the model's copy with the repository, file by file, without following a link. Changed regular
 * files are the change set; a link, FIFO, socket or device the copy adds or changes, or a file over
 * MAX_PATCH_FILE_BYTES, is refused with its reason.
 */
export function compareTrees(originalDir: string, copyDir: string): ChangeSet {
  const before = walk(originalDir);
  const after = walk(copyDir);
  const files: ChangedFile[] = [];
  const refused: RefusedChange[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const old = before.get(path);
    const now = after.get(path);
    if (old?.kind === "link" && now?.kind === "link" && old.target === now.target) continue;
    // The repository's FIFOs, sockets and devices are not copied (privateCopy): their absence is no change.
    if (old?.kind === "other" && now === undefined) continue;
    if (now?.kind === "link") refused.push({ path, reason: `a symbolic link (to ${JSON.stringify(now.target)}): a patch from org carries regular files only` });
    else if (now?.kind === "other") refused.push({ path, reason: `${now.what}: a patch carries regular files only` });
    else if (old !== undefined && old.kind !== "file")
      refused.push({ path, reason: "it is a link or special file in the repository, which org patch does not change" });
    else if (now !== undefined && now.size > MAX_PATCH_FILE_BYTES)
      refused.push({ path, reason: `${now.size} bytes: a changed file may have at most ${MAX_PATCH_FILE_BYTES}` });
    else if (old === undefined && now !== undefined) files.push({ path, change: "added" });
    else if (old !== undefined && now === undefined) files.push({ path, change: "deleted" });
    else if (old !== undefined && now !== undefined && !sameFile(originalDir, copyDir, path, old, now)) files.push({ path, change: "modified" });
  }
  return { files, refused };
}

/** Copies one file with its executable bit, making its directories. */
function place(source: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
  chmodSync(target, lstatSync(source).mode & 0o777);
}

/**
 * The unified diff (git's format, binary files whole) that turns the repository into the copy for `files`,
 * with `a/` and `b/` paths relative to the repository root. git compares two folders holding only those
 * files, with no user or system git config, so the output is the same wherever it runs.
 */
export async function unifiedDiff(originalDir: string, copyDir: string, files: readonly ChangedFile[], signal?: AbortSignal): Promise<Buffer> {
  if (files.length === 0) return Buffer.alloc(0);
  const work = mkdtempSync(join(tmpdir(), "org-patch-diff-"));
  try {
    for (const side of ["a", "b"]) mkdirSync(join(work, side));
    for (const { path, change } of files) {
      if (change !== "added") place(join(originalDir, path), join(work, "a", path));
      if (change !== "deleted") place(join(copyDir, path), join(work, "b", path));
    }
    const child = Bun.spawn(
      ["git", "diff", "--no-index", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--binary", "--full-index", "--no-prefix", "a", "b"],
      { cwd: work, env: isolatedGitEnvironment(), stdin: "ignore", stdout: "pipe", stderr: "pipe", ...(signal ? { signal } : {}) },
    );
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).bytes(), new Response(child.stderr).text(), child.exited]);
    // `--no-index` exits 1 when the folders differ, as they do here.
    if (exitCode !== 1) throw new Error(`git diff --no-index failed (exit ${exitCode}): ${stderr.trim()}`);
    return withBothSides(Buffer.from(stdout));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * git names a file that exists on one side only by that side alone (`diff --git a/gone a/gone`,
 * `diff --git b/new b/new`); the usual header names both (`a/gone b/gone`), as `git diff` in a repository does
 * and as tools that read patches expect. Lines of content start with ' ', '+' or '-', so only headers match.
 */
function withBothSides(diff: Buffer): Buffer {
  const lines = diff.toString("latin1").split("\n");
  for (const [index, line] of lines.entries()) {
    if (!line.startsWith("diff --git ")) continue;
    const names = line.slice("diff --git ".length);
    const half = (names.length - 1) / 2;
    const [first, second] = [names.slice(0, half), names.slice(half + 1)];
    if (!Number.isInteger(half) || first !== second || names[half] !== " ") continue;
    const quote = first.startsWith('"') ? '"' : "";
    const path = first.slice(quote.length + 2);
    lines[index] = `diff --git ${quote}a/${path} ${quote}b/${path}`;
  }
  // latin1 maps each byte to one code unit and back, so file contents pass unchanged.
  return Buffer.from(lines.join("\n"), "latin1");
}

/** git's environment for org's own diff and apply checks: no user or system config, a fixed locale. */
export function isolatedGitEnvironment(): Record<string, string> {
  return {
    PATH: executableSearchPath(),
    HOME: "/nonexistent",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
  };
}
