// A throw-away copy of this checkout as a git repository of its own (never this repository's git state),
// for tests that run org's ops scripts, promotions and candidates against it.
import { chmodSync, cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitSync } from "./temp-git-repo.ts";

const REPO = join(import.meta.dir, "..");
const SKIPPED = new Set([".git", "node_modules", ".org"]);

/** Copies the working tree's files into a new temp dir: never .git, node_modules or .org; the promoted tools only when asked. */
function copyCode(prefix: string, withGeneratedTools: boolean, parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, prefix));
  chmodSync(dir, 0o755);
  cpSync(REPO, dir, {
    recursive: true,
    filter: (source) => {
      const relative = source.slice(REPO.length + 1);
      if (!withGeneratedTools && (relative === "tools/generated" || relative.startsWith("tools/generated/"))) return false;
      return !SKIPPED.has(relative.split("/")[0] ?? "");
    },
  });
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
 * Org's code alone, for a test that only runs it (and may edit a file first): the files as `orgClone` copies them
 * but never the promoted tools, node_modules a link to this checkout's, no git. Cheap, and it reads nothing of
 * this checkout's tools/generated/ or git state, so the gate's trace does not count the test a reader of them.
 */
export function orgCodeCopy(prefix = "org-code-"): { dir: string } & Disposable {
  const dir = copyCode(prefix, false);
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}
