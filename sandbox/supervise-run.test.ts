import { afterAll, describe, expect, test } from "bun:test";
import { hostProcessesMatching, leftoverProcesses } from "../testing/hostile-environment.ts";
import { resolveLimits } from "./sandbox-limits.ts";
import { OUTPUT_GRACE_MS, spawnPiped, stderrWithNotes, superviseRun } from "./supervise-run.ts";

// Real host processes (no sandbox): what the supervisor does with a process tree, whatever runs it.
const marker = `orgsupervise${process.pid}x${Date.now().toString(36)}`;
afterAll(() => {
  for (const pid of hostProcessesMatching(marker)) process.kill(pid, "SIGKILL");
});

const supervise = (script: string, timeoutMs: number) =>
  superviseRun(spawnPiped(["/bin/bash", "-c", script], undefined, { env: { PATH: "/usr/bin:/bin" } }), {
    timeoutMs,
    limits: resolveLimits(undefined, timeoutMs),
  });

/** Fails instead of hanging: the supervisor must return within `ms`. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms} ms: the run hangs`)), ms);
  });
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe("superviseRun", () => {
  test("a process that exits leaving an orphan holding its pipes returns soon after, with what it wrote", async () => {
    const started = performance.now();
    const result = await within(20_000, supervise(`(setsid bash -c 'exec -a ${marker}-orphan sleep 60' &); echo started`, 60_000));
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: "started\n" });
    expect(result.stderr).toContain("a process it left behind still held its output");
    // It waited for the grace period, not for the orphan's 60 s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(OUTPUT_GRACE_MS - 50);
    expect(hostProcessesMatching(`${marker}-orphan`)).toHaveLength(1);
  }, 30_000);

  test("a timeout kills the whole process group, not only the process it started", async () => {
    const result = await within(20_000, supervise(`(exec -a ${marker}-child sleep 60) & exec -a ${marker}-parent sleep 60`, 300));
    expect(result).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    expect(await leftoverProcesses(`${marker}-child`)).toEqual([]);
    expect(await leftoverProcesses(`${marker}-parent`)).toEqual([]);
  }, 30_000);

  test("an abort kills the group too", async () => {
    const controller = new AbortController();
    const proc = spawnPiped(["/bin/bash", "-c", `(exec -a ${marker}-aborted sleep 60) & wait`], undefined, {
      env: { PATH: "/usr/bin:/bin" },
    });
    setTimeout(() => controller.abort(), 200);
    const result = await within(
      20_000,
      superviseRun(proc, { abortSignal: controller.signal, timeoutMs: 60_000, limits: resolveLimits(undefined, 60_000) }),
    );
    expect(result).toMatchObject({ isCanceled: true, timedOut: false });
    expect(await leftoverProcesses(`${marker}-aborted`)).toEqual([]);
  }, 30_000);
});

test("stderrWithNotes puts each note on a line of its own, a kill before a late verdict", () => {
  expect(stderrWithNotes("", { orphanHeldPipes: false })).toBe("");
  expect(stderrWithNotes("partial", { killReason: "it ran past its 1 s timeout", orphanHeldPipes: false })).toBe(
    "partial\n[sandbox: killed because it ran past its 1 s timeout]\n",
  );
  expect(stderrWithNotes("done\n", { lateVerdict: "scratch was full", orphanHeldPipes: false })).toBe(
    "done\n[sandbox: when the command ended, scratch was full]\n",
  );
  expect(stderrWithNotes("", { killReason: "cancelled", lateVerdict: "ignored", orphanHeldPipes: true })).toBe(
    "[sandbox: killed because cancelled]\n",
  );
  expect(stderrWithNotes("x", { orphanHeldPipes: true })).toMatch(/^x\n\[sandbox: a process it left behind still held its output 1 s after it ended/);
});
