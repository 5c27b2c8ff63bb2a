// A throw-away copy of this checkout as a git repository of its own (never this repository's git state),
// for tests that run org's ops scripts, promotions and candidates against it.
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitSync } from "./temp-git-repo.ts";

const REPO = join(import.meta.dir, "..");
const SKIPPED = new Set([".git", "node_modules", ".org"]);

/**
 * Copies the working tree's files into a new temp dir: never .git, node_modules or .org; the promoted tools only when
 * asked. Files keep their modes (the ops scripts and bin/org stay executable); a link is made again as a link. A walk
 * of its own with `copyFileSync`: `cpSync` with a filter took 0.6 s of a test's time for org's 700 files. `placeFile`
 * puts one file (its path in the tree given) in place of copying it.
 */
function copyCode(
  prefix: string,
  withGeneratedTools: boolean,
  parent = tmpdir(),
  placeFile: (from: string, to: string, path: string) => void = (from, to) => copyFileSync(from, to),
): string {
  const dir = mkdtempSync(join(parent, prefix));
  chmodSync(dir, 0o755);
  const copy = (relative: string) => {
    for (const entry of readdirSync(join(REPO, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (relative === "" && SKIPPED.has(entry.name)) continue;
      // A test that counts the tools it promotes starts from none, whatever this checkout has promoted.
      if (!withGeneratedTools && path === "tools/generated") continue;
      const from = join(REPO, path);
      const to = join(dir, path);
      if (entry.isDirectory()) {
        mkdirSync(to, { mode: statSync(from).mode & 0o7777 });
        copy(path);
      } else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else if (entry.isFile()) placeFile(from, to, path);
    }
  };
  copy("");
  return dir;
}

/**
 * Copies the working tree's files (not .git, node_modules or .org; with `withoutGeneratedTools`, not the
 * promoted tools either) into a temp dir, commits them on `main`,
 * and hard-links node_modules in (as the ops scripts would for a candidate). In `parent` when given (the system's
 * temp dir otherwise). Removed when disposed.
 */
export function orgClone(
  prefix = "org-clone-",
  options: { withoutGeneratedTools?: boolean; parent?: string } = {},
): { dir: string; head: string } & Disposable {
  // A test that counts the tools it promotes starts from none, whatever this checkout has promoted.
  const dir = copyCode(prefix, !options.withoutGeneratedTools, options.parent);
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "org, copied for a test"]);
  const linked = Bun.spawnSync(["cp", "-al", "--", join(REPO, "node_modules"), join(dir, "node_modules")]);
  if (linked.exitCode !== 0) throw new Error(`could not link node_modules: ${linked.stderr.toString()}`);
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  return { dir, head, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Org's code alone, for a test that only runs it: the files as `orgClone` copies them but never the promoted tools,
 * node_modules a link to this checkout's, no git. Cheap, and it reads nothing of this checkout's tools/generated/ or
 * git state, so the gate's trace does not count the test a reader of them.
 *
 * Each file is a hard link to this checkout's (making 700 new files was most of such a test's CPU; linking them costs
 * a tenth of it), so writing into one writes into the checkout: a file the test edits is named in `editable`, and
 * only those are copies. Where the temp dir is on another file system (no hard links), all are copies.
 */
export function orgCodeCopy(prefix = "org-code-", options: { editable?: readonly string[] } = {}): { dir: string } & Disposable {
  const editable = new Set(options.editable);
  let linking = true;
  const dir = copyCode(prefix, false, tmpdir(), (from, to, path) => {
    if (linking && !editable.has(path)) {
      try {
        linkSync(from, to);
        return;
      } catch {
        // Another file system, or one without hard links: copy this file and the rest.
        linking = false;
      }
    }
    copyFileSync(from, to);
  });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}
