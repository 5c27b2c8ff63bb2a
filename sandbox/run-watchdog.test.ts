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

// bwrap with a pid namespace of its own, as in sandbox/pid-namespace.test.ts: its child is the namespace's init.
const BWRAP = ["bwrap", "--unshare-pid", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin"];
const BWRAP_TAIL = ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--"];

describe("startWatchdog", () => {
  test("the memory bound counts an orphan in a session of its own, held by init, as the walk from init finds it", async () => {
    const scratch = join(root, "memory");
    mkdirSync(scratch);
    // The hog's parent exits at once: it is handed to the namespace's init, in a new session.
    const hog = "b = bytearray(96 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nimport time; time.sleep(30)";
    const script = `(setsid /usr/bin/python3 -c "$0" &); exec sleep 30`;
    const launcher = Bun.spawn([...BWRAP, ...BWRAP_TAIL, "/bin/sh", "-c", script, hog], { stdio: ["ignore", "ignore", "pipe"] });
    const verdicts: string[] = [];
    const watchdog = startWatchdog({
      launcherPid: launcher.pid,
      scratchDir: scratch,
      scratchBytes: 16 * MiB,
      scratchFiles: 100,
      totalMemoryBytes: 64 * MiB,
      measurer: new TreeMeasurer(),
      onLimit: (reason) => {
        verdicts.push(reason);
        launcher.kill("SIGKILL");
      },
    });
    const timeout = setTimeout(() => launcher.kill("SIGKILL"), 20_000);
    await launcher.exited;
    clearTimeout(timeout);
    watchdog.stop();
    expect(verdicts).toEqual(["its processes together used more than 64 MiB of memory"]);
  }, 30_000);

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
