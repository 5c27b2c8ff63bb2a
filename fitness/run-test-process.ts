import { availableParallelism } from "node:os";
import { isolatedBunFlags } from "../config/org-bun-command.ts";
import { ERROR_LINE, failedRun, failingFiles, type TestRun } from "./test-run-output.ts";

// bun test processes at once: twice the cores, as these files mostly wait on the processes and servers they start
// (traced too: under strace they spend twice the CPU, yet still wait for most of their time).
export const TEST_PROCESSES = Math.min(4, 2 * availableParallelism());

/** Where and how the stage's `bun test` processes run: the worktree, the bun, their environment, the stage's signal. */
export type TestRunner = { worktree: string; bun: string; env: Record<string, string>; signal: AbortSignal };

/** One `bun test` of some of the files, in its own process group (killed with it on abort or timeout); `wrap` puts it under strace. */
export async function runTestProcess(runner: TestRunner, files: string[], wrap: (argv: string[]) => string[] = (argv) => argv): Promise<TestRun> {
  const { worktree, bun, env, signal } = runner;
  const child = Bun.spawn(wrap([bun, ...isolatedBunFlags(), "test", "--timeout", "30000", ...files.map((test) => `./${test}`)]), {
    cwd: worktree,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  const kill = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  signal.addEventListener("abort", kill, { once: true });
  if (signal.aborted) kill();
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  signal.removeEventListener("abort", kill);
  return { files, code, text: `${out}\n${err}` };
}

/**
 * A run of several files that failed: each file with a failure or an error runs once more alone, and that run
 * decides, since a test with a time limit of its own can miss it while the machine is busy with the other files.
 * The run returned keeps the first run's passes (a file that passed alone counts only the tests that passed the
 * first time) and what still failed alone.
 */
export async function rerunFailedAlone(run: TestRun, runner: TestRunner): Promise<{ run: TestRun; passedAlone: string[] }> {
  if (!failedRun(run) || runner.signal.aborted) return { run, passedAlone: [] };
  const failing = failingFiles(run);
  const again: TestRun[] = [];
  for (const file of failing) again.push(await runTestProcess(runner, [file]));
  const still = again.filter(failedRun);
  const passedAlone = failing.filter((_, index) => !failedRun(again[index] ?? run));
  // Nothing passed alone: the first run's output says why, as it stands.
  if (passedAlone.length === 0) return { run, passedAlone };
  // One file that passed alone: that run is the whole story.
  if (run.files.length === 1 && again[0]) return { run: again[0], passedAlone };
  const kept = run.text
    .split("\n")
    .filter((line) => !/^\(fail\) /.test(line) && !/^\s*\d+ fail\s*$/.test(line) && !ERROR_LINE.test(line))
    .join("\n");
  return {
    run: { files: run.files, code: still[0]?.code ?? 0, text: [...still.map((failed) => failed.text), kept].join("\n") },
    passedAlone,
  };
}
