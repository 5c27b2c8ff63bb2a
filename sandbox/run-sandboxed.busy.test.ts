import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostProcessesMatching, leftoverProcesses } from "../testing/hostile-environment.ts";
import { runInTestSandbox } from "../testing/test-sandbox.ts";

// A watchdog that kills bwrap while it still sets the sandbox up once left bwrap's child behind holding the
// pipes: the run never returned and kept its slot. On a busy CPU that happened in about one run of three.
const root = mkdtempSync(join(tmpdir(), "org-run-busy-"));
const marker = `orgbusy${process.pid}x${Date.now().toString(36)}`;
const hogs: number[] = [];
afterAll(() => {
  for (const pid of hogs) process.kill(pid, "SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** Fails instead of hanging: each run must return within `ms`. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms: the run hangs`)), ms);
  });
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

test("beside CPU hogs, runs the watchdog kills at once all return, leave nothing behind and free their slots", async () => {
  // Busy loops on every core, for as long as this test runs.
  for (let index = 0; index < 3; index += 1) {
    hogs.push(Bun.spawn(["/bin/sh", "-c", "while :; do :; done"], { stdio: ["ignore", "ignore", "ignore"] }).pid);
  }
  const sh = (scratchDir: string, cmd: string, extra: Partial<Parameters<typeof runInTestSandbox>[0]> = {}) =>
    runInTestSandbox({ argv: ["/bin/sh", "-c", `${cmd} # ${marker}`], scratchDir, timeoutMs: 10_000, ...extra });
  for (let run = 0; run < 12; run += 1) {
    const full = join(root, `full-${run}`);
    const filled = await within(30_000, `filling scratch (run ${run})`, sh(full, "head -c 2M /dev/zero > leftover"));
    expect(filled.exitCode).toBe(0);
    // The first walk finds scratch over its limit and kills the run while bwrap may still be setting up.
    const result = await within(30_000, `the run over its limit (run ${run})`, sh(full, "true", { limits: { scratchBytes: 1024 * 1024 } }));
    expect(result.stderr).toMatch(/^\[sandbox: (killed because|when the command ended,) the scratch directory grew past its 1 MiB limit/);
  }
  // Every slot is free again: four runs at once all get one.
  const free = await within(
    30_000,
    "four runs after the kills",
    Promise.all(Array.from({ length: 4 }, (_, index) => sh(join(root, `after-${index}`), "echo ok"))),
  );
  expect(free.map((result) => result.stdout)).toEqual(["ok\n", "ok\n", "ok\n", "ok\n"]);
  expect(await leftoverProcesses(marker)).toEqual([]);
  expect(hostProcessesMatching(marker)).toEqual([]);
}, 180_000);
