// A throw-away copy of this checkout as a git repository of its own (never this repository's git state),
// for tests that run org's ops scripts, promotions and candidates against it.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitSync } from "./temp-git-repo.ts";

const REPO = join(import.meta.dir, "..");
const SKIPPED = new Set([".git", "node_modules", ".org"]);

/**
 * Copies the working tree's files into a new temp dir: never .git, node_modules or .org; the promoted tools, and the
 * test files and docs, only when asked (`onlyTests`: of the test files, those alone). Files keep their modes (the ops
 * scripts and bin/org stay executable); a link is made again as a link. A walk of its own with `copyFileSync`:
 * `cpSync` with a filter took 0.6 s of a test's time for org's 700 files.
 */
function copyCode(
  prefix: string,
  what: { generatedTools: boolean; testsAndDocs: boolean; onlyTests?: ReadonlySet<string> },
  parent = tmpdir(),
): string {
  const dir = mkdtempSync(join(parent, prefix));
  chmodSync(dir, 0o755);
  const copy = (relative: string) => {
    for (const entry of readdirSync(join(REPO, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (relative === "" && SKIPPED.has(entry.name)) continue;
      // A test that counts the tools it promotes starts from none, whatever this checkout has promoted.
      if (!what.generatedTools && path === "tools/generated") continue;
      if (!what.testsAndDocs && entry.isFile() && (entry.name.endsWith(".test.ts") || entry.name.endsWith(".md"))) continue;
      if (what.onlyTests && entry.isFile() && entry.name.endsWith(".test.ts") && !what.onlyTests.has(path)) continue;
      const from = join(REPO, path);
      const to = join(dir, path);
      if (entry.isDirectory()) {
        mkdirSync(to, { mode: statSync(from).mode & 0o7777 });
        copy(path);
      } else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else if (entry.isFile()) copyFileSync(from, to);
    }
  };
  copy("");
  const missing = [...(what.onlyTests ?? [])].filter((path) => !existsSync(join(dir, path)));
  if (missing.length > 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`orgClone: no test file ${missing.join(", ")} in this checkout to keep`);
  }
  return dir;
}

/**
 * Copies the working tree's files (not .git, node_modules or .org; with `withoutGeneratedTools`, not the
 * promoted tools either; with `onlyTests`, of the test files only those named, relative to the checkout) into a temp
 * dir, commits them on `main`, and links node_modules in as a link to this checkout's (as the ops scripts do for a
 * candidate whose package-lock.json is the same; git ignores it). With `ownNodeModules`, node_modules is a folder of
 * the clone's own under `parent` (`ownNodeModules`). In `parent` when given (the system's temp dir otherwise).
 * Removed when disposed.
 */
export function orgClone(
  prefix = "org-clone-",
  options: { withoutGeneratedTools?: boolean; parent?: string; ownNodeModules?: boolean; onlyTests?: readonly string[] } = {},
): { dir: string; head: string } & Disposable {
  // A test that counts the tools it promotes starts from none, whatever this checkout has promoted.
  const what = {
    generatedTools: !options.withoutGeneratedTools,
    testsAndDocs: true,
    ...(options.onlyTests ? { onlyTests: new Set(options.onlyTests) } : {}),
  };
  const dir = copyCode(prefix, what, options.parent);
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  // Every blob into one pack rather than a file each (with a fan-out folder): the add took a second of system time.
  // Stored, not deflated: deflating org's 12 MB was 0.3 of the add's 0.55 CPU-s, paid by every clone of the suite.
  gitSync(dir, ["-c", "core.bigFileThreshold=1", "-c", "core.compression=0", "add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "org, copied for a test"]);
  if (options.ownNodeModules) ownNodeModules(dir);
  else symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  return { dir, head, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `dir/node_modules` as a folder of the clone's own, so that its bun and packages are files under `dir` (a sandboxed
 * MCP server of a test reads its package from there): hard links to this checkout's, or a copy where the temp dir is
 * another file system (the test command puts it on a RAM disk when there is one).
 */
function ownNodeModules(dir: string): void {
  const from = join(REPO, "node_modules");
  const to = join(dir, "node_modules");
  // Across file systems each of its 12 000 links would fail in turn (0.3 CPU-s), so cp -al is tried only within one.
  if (statSync(from).dev === statSync(dir).dev && Bun.spawnSync(["cp", "-al", "--", from, to], { stderr: "ignore" }).exitCode === 0) return;
  rmSync(to, { recursive: true, force: true });
  const copied = Bun.spawnSync(["cp", "-a", "--", from, to]);
  if (copied.exitCode !== 0) throw new Error(`could not copy node_modules: ${copied.stderr.toString()}`);
}

/**
 * Org's code alone, for a test that only runs it (and may edit a file first): the files as `orgClone` copies them
 * but never the promoted tools, and none of the test files and docs (a third of the files, which org never reads
 * when it runs; each file made costs the test's process time), node_modules a link to this checkout's, no git.
 * Cheap, and it reads nothing of this checkout's tools/generated/ or git state, so the gate's trace does not count
 * the test a reader of them.
 */
export function orgCodeCopy(prefix = "org-code-"): { dir: string } & Disposable {
  const dir = copyCode(prefix, { generatedTools: false, testsAndDocs: false });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}
