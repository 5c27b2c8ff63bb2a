import { runOrgProcess } from "./org-process.ts";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FitnessReport, latestReport, writeFitnessReport } from "../fitness/fitness-report.ts";
import { freePort } from "./free-port.ts";
import { isSameProcess } from "./test-run-reaper.ts";
import type { ToolSpec } from "../generated-tools/tool-metadata.ts";
import { writeGeneratedTool } from "./generated-tool-fixture.ts";
import { gitSync, tempGitRepo } from "./temp-git-repo.ts";
import type { ToolFixture } from "./toolsmith-fixtures.ts";

const REPO = join(import.meta.dir, "..");

// start-current.sh of the throw-away repository: stops the previous fake current (by pid file) before starting
// the next, so there is never more than one; every current it started is listed in .org/current-pids. Each is
// written as "PID START" (its start time in clock ticks, /proc/PID/stat field 22) and signalled only while that pid
// still has that start time: the machine reuses pids within minutes, and a bare pid once made a test kill whatever
// process had the number by then (another test's server, in its tmux window).
const START_CURRENT =
  `#!/usr/bin/env bash
set -euo pipefail
root="$(cd "$(dirname "\${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$root/.org"
pidfile="$root/.org/current.pid"
started() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
if [ -f "$pidfile" ]; then
  read -r old old_start < "$pidfile" || true
  if [ -n "\${old:-}" ] && [ -n "\${old_start:-}" ] && [ "$(started "$old")" = "$old_start" ]; then
    kill "$old" 2>/dev/null || true
    # Stopped, it stays a zombie until its new parent reaps it, which some inits do a second or more late; its port is
    # free by then, so a zombie counts as gone.
    for _ in $(seq 500); do
      state="$(sed -n 's/^.*) \\(.\\).*/\\1/p' "/proc/$old/stat" 2>/dev/null || true)"
      if [ -z "$state" ] || [ "$state" = Z ] || [ "$(started "$old")" != "$old_start" ]; then break; fi
      sleep 0.01
    done
  fi
fi
nohup ${JSON.stringify(process.execPath)} ${JSON.stringify(join(REPO, "testing", "fake-current-server.ts"))} ` +
  `"$ORG_CURRENT_PORT" "$root" >/dev/null 2>&1 &
echo "$*" >> "$root/.org/current-args"
echo "$! $(started $!)" > "$pidfile"
echo "$! $(started $!)" >> "$root/.org/current-pids"
`;

/** The scenario a throw-away repository keeps in fitness/scenarios/ (the fake instance echoes the text). */
export const ECHO_SCENARIO = {
  name: "echo",
  request: { text: "hello" },
  expect: { events: ["turn-start", "message", "turn-end"], includes: ["you said: hello"] },
};

/**
 * A throw-away repository shaped like org's: main with ops/start-current.sh, a scenario, and one generated tool
 * (a placeholder, or the given toolsmith fixtures with valid metadata).
 */
export function promotionRepo(tools: ToolFixture[] = []): { dir: string } & Disposable {
  const repo = tempGitRepo("org-promote-");
  mkdirSync(join(repo.dir, "ops"), { recursive: true });
  writeFileSync(join(repo.dir, "ops", "start-current.sh"), START_CURRENT);
  chmodSync(join(repo.dir, "ops", "start-current.sh"), 0o755);
  mkdirSync(join(repo.dir, "fitness", "scenarios"), { recursive: true });
  writeFileSync(join(repo.dir, "fitness", "scenarios", "echo.json"), JSON.stringify(ECHO_SCENARIO));
  if (tools.length === 0) writeTool(repo.dir, "upper", "v1");
  for (const tool of tools) writeFixtureTool(repo.dir, tool);
  gitSync(repo.dir, ["add", "-A"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "org with ops and one tool"]);
  return {
    dir: repo.dir,
    [Symbol.dispose]: () => {
      stopCurrents(repo.dir);
      repo[Symbol.dispose]();
    },
  };
}

/** Writes a small generated tool's folder (content only matters for identity here). */
export function writeTool(dir: string, name: string, body: string): void {
  const folder = join(dir, "tools", "generated", name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "tool.ts"), `export default () => (${JSON.stringify(body)});\n`);
}

/** Makes `cand/<stamp>` from main with `change` applied in a scratch worktree; returns its head commit. */
export function makeCandidate(dir: string, branch: string, change: (worktree: string) => void): string {
  const worktree = join(dir, ".org", `wt-${branch.replace(/\W/g, "-")}`);
  mkdirSync(join(dir, ".org"), { recursive: true });
  writeFileSync(join(dir, ".org", ".gitignore"), "*\n");
  gitSync(dir, ["worktree", "add", "--quiet", "-b", branch, worktree, "main"]);
  change(worktree);
  gitSync(worktree, ["add", "-A"]);
  gitSync(worktree, ["commit", "--quiet", "-m", `candidate ${branch}`]);
  gitSync(dir, ["worktree", "remove", "--force", worktree]);
  return gitSync(dir, ["rev-parse", branch]).trim();
}

/** A fitness report for `commit` judged against main's current commit, written and signed as the gate writes it (passing unless changed). */
export function writePassingReport(dir: string, commit: string, branch: string, change: (report: FitnessReport) => void = () => {}): string {
  const main = gitSync(dir, ["rev-parse", "main"]).trim();
  const report: FitnessReport = {
    version: 1,
    verdict: "pass",
    commit,
    branch,
    mainCommit: main,
    checks: [{ stage: "protected-core", name: "protected core", ok: true, reason: "only tools/generated/ changed", durationMs: 1 }],
    summary: "fitness: pass (test report)",
    startedAt: new Date().toISOString(),
    durationMs: 1,
  };
  change(report);
  return writeFitnessReport(dir, report);
}

/**
 * A candidate of a clone of org whose serve throws as it starts (a change outside tools/generated/, allowed by flag in
 * its passing report), ready for `org promote`: what a promotion whose current cannot start brings. Its commit.
 */
export function brokenServeCandidate(dir: string, branch: string): string {
  const commit = makeCandidate(dir, branch, (worktree) => {
    const file = join(worktree, "cli", "serve", "run-serve.ts");
    const before = readFileSync(file, "utf8");
    // The first statement of runServe throws: serve (and org web) start, then fail, as a broken promotion would.
    const after = before.replace(
      /^export async function runServe\([^)]*\)[^{]*\{\n/m,
      (head) => `${head}  throw new Error("a promoted change broke serve");\n`,
    );
    if (after === before) throw new Error("brokenServeCandidate: cli/serve/run-serve.ts has no runServe to break; update the fixture");
    writeFileSync(file, after);
  });
  writePassingReport(dir, commit, branch, (report) => {
    const core = report.checks[0];
    if (core) core.figures = { allowedByFlag: 1 };
  });
  return commit;
}

/** Pids of the fake currents this repository started that are still alive: each the very process listed (pid and start time). */
export function liveCurrents(dir: string): number[] {
  const list = join(dir, ".org", "current-pids");
  if (!existsSync(list)) return [];
  return readFileSync(list, "utf8")
    .split("\n")
    .flatMap((line) => {
      const [pid, start] = line.trim().split(" ");
      // A line without a start time cannot tell the current from a later process with its pid: never signalled.
      return pid && start && /^\d+$/.test(pid) && isSameProcess({ pid: Number(pid), start }) ? [Number(pid)] : [];
    });
}

/** Stops every fake current this repository started (and nothing that took one's pid after it ended). */
export function stopCurrents(dir: string): void {
  for (const pid of liveCurrents(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

/** Runs `org <args>` as a real process with the given extra environment; bounded. */
export async function runOrg(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  const run = await runOrgProcess(args, { env, timeoutMs });
  return { code: run.exitCode, signal: run.signal, out: `${run.stdout}${run.stderr}` };
}

/**
 * What must hold after any promote or rollback, finished or interrupted and rerun: the checkout is on main with
 * its files and index equal to main's tree, no journal or lock is left, every promote/rollback tag names a
 * commit main contains, and at most one current runs (exactly one, at main, when `current` is expected).
 */
export async function consistencyProblems(
  dir: string,
  port: number | undefined,
  options: { currentMayBeStarting?: boolean } = {},
): Promise<string[]> {
  const problems: string[] = [];
  const main = gitSync(dir, ["rev-parse", "main"]).trim();
  if (gitSync(dir, ["symbolic-ref", "HEAD"]).trim() !== "refs/heads/main") problems.push("HEAD is not main");
  const status = gitSync(dir, ["status", "--porcelain", "--untracked-files=all"]).trim();
  if (status) problems.push(`checkout differs from main: ${status}`);
  for (const path of [".org/promotion-journal.json", ".org/promotion.lock", ".git/index.lock"]) {
    if (existsSync(join(dir, path))) problems.push(`${path} left behind`);
  }
  const tags = gitSync(dir, ["for-each-ref", "--format=%(refname) %(objectname)", "refs/tags/promote/", "refs/tags/rollback/"]).trim();
  for (const line of tags.split("\n").filter(Boolean)) {
    const [ref, commit] = line.split(" ") as [string, string];
    const base = gitSync(dir, ["merge-base", commit, main]).trim();
    if (base !== commit) problems.push(`${ref} names ${commit}, which main does not contain`);
  }
  const currents = liveCurrents(dir);
  if (currents.length > 1) problems.push(`${currents.length} currents run: ${currents.join(", ")}`);
  if (port !== undefined) {
    const answer = await currentAt(port, main, options.currentMayBeStarting ? 30_000 : 0);
    if (answer !== main) problems.push(`current answers at ${answer}, main is ${main}`);
  }
  return problems;
}

/**
 * The commit current answers /health with; with `waitMs`, polled until it is `expected`, for a restart a command
 * asked for and did not wait out (its own health wait ended first, on a busy machine).
 */
async function currentAt(port: number, expected: string, waitMs: number): Promise<string> {
  const deadline = Date.now() + waitMs;
  let last = "no answer";
  for (;;) {
    try {
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5_000) })).json()) as { commit: string };
      last = health.commit;
      if (last === expected) return last;
    } catch (error) {
      last = `no answer (${error instanceof Error ? error.message : String(error)})`;
    }
    if (Date.now() >= deadline) return last;
    await Bun.sleep(50);
  }
}

/**
 * Starts the fake instance on `dir`'s checkout on a free port and waits (bounded) until it answers /health itself;
 * disposing kills it.
 */
export async function startFakeInstance(dir: string, env: Record<string, string> = {}): Promise<{ port: number } & Disposable> {
  // A port drawn free can be taken by another test's server before this one binds it: that server would answer
  // /health, and a gate would judge the wrong instance. Only an answer carrying this child's pid counts; a child that
  // ended (its port was taken) is started again on another port.
  for (let attempt = 1; ; attempt += 1) {
    const port = freePort();
    const child = Bun.spawn([process.execPath, join(REPO, "testing", "fake-current-server.ts"), String(port), dir], {
      stdout: "ignore",
      stderr: "ignore",
      env: { ...process.env, ...env },
    });
    if (await answersItself(port, child)) return { port, [Symbol.dispose]: () => child.kill("SIGKILL") };
    child.kill("SIGKILL");
    if (attempt === 5) throw new Error(`the fake instance for ${dir} did not answer on a port of its own in 5 tries (last: ${port})`);
  }
}

/** True once `child` itself answers /health on `port`; false when it ends first or 20 s pass. */
async function answersItself(port: number, child: Bun.Subprocess): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = (await response.json()) as { pid?: unknown };
      if (response.ok && body.pid === child.pid) return true;
    } catch {}
    await Bun.sleep(50);
  }
  return false;
}

/** Writes a generated tool from a toolsmith fixture (code, tests, metadata with matching hashes) under `root`. */
export function writeFixtureTool(root: string, fixture: ToolFixture, overrides: { tool?: string; tests?: string; name?: string } = {}): void {
  const spec = { ...fixture.spec, ...(overrides.name ? { name: overrides.name } : {}) } as ToolSpec;
  const code = overrides.tool ?? fixture.tool;
  const tests = overrides.tests ?? fixture.tests;
  writeGeneratedTool(root, spec, code, tests);
}

/**
 * Starts a stand-in current on the checkout and a stand-in candidate on a worktree of `branch` (with `candidateEnv`),
 * runs the gate CLI (`--runs 3` and `extra`), and returns its result, its report and the first check that failed.
 */
export async function judgeCandidate(dir: string, branch: string, extra: string[] = [], candidateEnv: Record<string, string> = {}) {
  const worktree = join(dir, ".org", "candidate-instance");
  gitSync(dir, ["worktree", "add", "--quiet", "--detach", worktree, branch]);
  try {
    using current = await startFakeInstance(dir);
    using candidate = await startFakeInstance(worktree, candidateEnv);
    const result = await runOrg(["fitness", String(candidate.port), "--repo", dir, "--runs", "3", ...extra], {
      ORG_CURRENT_PORT: String(current.port),
    });
    const commit = gitSync(dir, ["rev-parse", branch]).trim();
    const report = latestReport(dir, commit)?.report;
    return { ...result, report, failed: report?.checks.find((check) => !check.ok) };
  } finally {
    gitSync(dir, ["worktree", "remove", "--force", worktree]);
  }
}
