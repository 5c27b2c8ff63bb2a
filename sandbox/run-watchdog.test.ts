import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TreeMeasurer } from "./measure-tree.ts";
import { MAX_WATCHED_DIRECTORIES } from "./scratch-walks.ts";
import { startWatchdog } from "./run-watchdog.ts";

const root = mkdtempSync(join(tmpdir(), "org-run-watchdog-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MiB = 1024 * 1024;

describe("startWatchdog", () => {
  test("in a scratch too crowded to watch, with the poll an hour apart, the free-space sentinel alone stops a writer", async () => {
    const scratch = join(root, "crowded");
    for (let directory = 0; directory <= MAX_WATCHED_DIRECTORIES; directory += 1) mkdirSync(join(scratch, `d${directory}`), { recursive: true });
    // It writes once the watchdog's first walk has long found scratch empty, at most 400 MiB, then waits: however
    // slowly this machine runs, the sentinel has 20 s to see the disk lose it.
    const writer = Bun.spawn(["/bin/sh", "-c", "sleep 1; for i in $(seq 100); do head -c 4M /dev/zero > f$i || exit 1; done; sleep 20"], {
      cwd: scratch,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const verdicts: string[] = [];
    const watchdog = startWatchdog({
      launcherPid: writer.pid,
      scratchDir: scratch,
      scratchBytes: 16 * MiB,
      scratchFiles: 100_000,
      totalMemoryBytes: 2 ** 40,
      intervalMs: 3_600_000,
      measurer: new TreeMeasurer(),
      onLimit: (reason) => {
        verdicts.push(reason);
        writer.kill("SIGKILL");
      },
    });
    await writer.exited;
    watchdog.stop();
    expect(verdicts).toEqual(["the scratch directory grew past its 16 MiB limit (delete files in /scratch to make room)"]);
    expect(writer.signalCode).toBe("SIGKILL");
  }, 30_000);
});
