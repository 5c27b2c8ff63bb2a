import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import type { FitnessCheck } from "../git/fitness-report.ts";
import { isolatedBunFlags } from "../config/org-bun-command.ts";
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
export function reachableTests(root: string): { tests: string[]; loaders: string[] } {
  const files = tsFiles(root);
  const source = new Map(files.map((file) => [file, readFileSync(join(root, file), "utf8")]));
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
    const imports = [...text.matchAll(IMPORT)].map((match) => normalize(join(dirname(file), match[1] as string)));
    return imports.some((target) => loaderSet.has(target));
  });
  return { tests: tests.sort(), loaders: loaders.sort() };
}

/**
 * Stage c: runs the reachable tests with `bun test` in the candidate's fresh worktree, in their own process
 * group, killed after `timeoutMs`. The report names the files that ran. bun takes its configuration from the
 * checkout running the gate (`isolatedBunFlags`), never from the candidate's worktree.
 */
export async function runReachableTests(worktree: string, bun: string, timeoutMs: number, signal?: AbortSignal): Promise<FitnessCheck> {
  const started = performance.now();
  const { tests, loaders } = reachableTests(worktree);
  if (tests.length === 0) {
    return {
      stage: "tests",
      name: "candidate's tests the change reaches",
      ok: true,
      reason: "no test imports a module that reads tools/generated/",
      figures: { ran: [] },
      durationMs: 0,
    };
  }
  const child = Bun.spawn([bun, ...isolatedBunFlags(), "test", "--timeout", "30000", ...tests.map((test) => `./${test}`)], {
    cwd: worktree,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  let timedOut = false;
  const kill = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  signal?.addEventListener("abort", kill, { once: true });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  signal?.removeEventListener("abort", kill);
  const text = `${out}\n${err}`;
  const passed = Number(/^\s*(\d+) pass/m.exec(text)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail/m.exec(text)?.[1] ?? 0);
  const failures = [...text.matchAll(/^\(fail\) (.*)$/gm)].map((match) => match[1] as string).slice(0, 5);
  const ok = code === 0 && !timedOut && failed === 0 && passed > 0;
  return {
    stage: "tests",
    name: "candidate's tests the change reaches",
    ok,
    reason: ok
      ? `${passed} passed in ${tests.length} file(s) that load generated tools`
      : timedOut
        ? `killed after ${Math.round(timeoutMs / 1000)} s`
        : `${failed} failed: ${failures.join("; ") || `bun test exited ${code}`}`,
    figures: { ran: tests, loaders, passed, failed },
    durationMs: performance.now() - started,
  };
}
