import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import type { RepoGit } from "../git/repo-git.ts";
import { GENERATED_TOOLS_DIR, ORG_DIR } from "../config/workspace-paths.ts";

// Folders that are not org's code, or whose tests build throw-away repositories rather than load tools.
const SKIPPED_TOP = new Set(["node_modules", ".git", ORG_DIR, GENERATED_TOOLS_DIR]);
// A module reads the generated tools' folder when it names it.
// The toolsmith writes new tools into a candidate worktree; it never reads the checkout's.
const WRITES_ONLY = new Set(["toolsmith/run-toolsmith.ts"]);
const READS_GENERATED = /GENERATED_(TOOLS_)?DIR\b|["']tools\/generated["']|["']generated["']/;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

function tsFiles(root: string, directory = root): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    const rel = relative(root, path);
    if (SKIPPED_TOP.has(rel) || entry.name.startsWith(".")) continue;
    if (entry.isDirectory()) found.push(...tsFiles(root, path));
    else if (entry.isFile() && entry.name.endsWith(".ts")) found.push(rel);
  }
  return found;
}

/**
 * The test files a change limited to `tools/generated/` can reach: those that import, directly, a module that
 * reads that folder (the registry, served tools, the tool catalog, config's tool names…), or read it themselves.
 * Deeper importers go through those modules, whose own tests are among these. Paths relative to `root`.
 */
export function reachableTests(root: string): Reachable {
  return selectReachable(new Map(tsFiles(root).map((file) => [file, readFileSync(join(root, file), "utf8")])));
}

/** The test files a change limited to tools/generated/ can reach, and the modules that read that folder (paths relative to the root). */
export type Reachable = { tests: string[]; loaders: string[] };

/** As `reachableTests`, read from `commit`'s objects (one git process for the sources) rather than a checkout of it. */
export async function reachableTestsAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Reachable> {
  const files: { path: string; blob: string }[] = [];
  for (const { mode, type, id: blob, path } of await git.treeEntries(commit, { recursive: true, signal })) {
    const parts = path.split("/");
    // As a checkout walked by `tsFiles` has them: regular .ts files, none under a skipped top folder or a dot-folder.
    if (type !== "blob" || (mode !== "100644" && mode !== "100755") || !path.endsWith(".ts")) continue;
    if (parts.some((part) => part.startsWith(".")) || SKIPPED_TOP.has(parts[0] ?? "") || path.startsWith(`${GENERATED_TOOLS_DIR}/`)) continue;
    files.push({ path, blob });
  }
  const blobs = await git.readBlobs(
    files.map((file) => file.blob),
    { ...(signal ? { signal } : {}) },
  );
  return selectReachable(new Map(files.map(({ path, blob }) => [path, blobs.get(blob)?.toString("utf8") ?? ""])));
}

/** `reachableTests` over the sources given (path relative to the root → text). */
function selectReachable(source: ReadonlyMap<string, string>): Reachable {
  const files = [...source.keys()];
  const loaders = files.filter(
    (file) =>
      !file.endsWith(".test.ts") &&
      !file.startsWith("testing/") &&
      !file.startsWith("fitness/") &&
      !WRITES_ONLY.has(file) &&
      READS_GENERATED.test(source.get(file) ?? ""),
  );
  const loaderSet = new Set(loaders);
  const tests = files.filter((file) => {
    if (!file.endsWith(".test.ts") || file.startsWith("fitness/") || file.startsWith("git/")) return false;
    const text = source.get(file) ?? "";
    const imports = [...text.matchAll(IMPORT)].flatMap(([, target]) => (target === undefined ? [] : [normalize(join(dirname(file), target))]));
    return imports.some((target) => loaderSet.has(target));
  });
  return { tests: tests.sort(), loaders: loaders.sort() };
}
