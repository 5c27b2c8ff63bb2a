import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TreeMeasurer } from "./measure-tree.ts";
import { MAX_WATCHED_DIRECTORIES } from "./scratch-walks.ts";
import { sandboxInit } from "./pid-namespace.ts";
import { mapFilesName, startWatchdog } from "./run-watchdog.ts";

const root = mkdtempSync(join(tmpdir(), "org-run-watchdog-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MiB = 1024 * 1024;

// bwrap with a pid namespace of its own, as in sandbox/pid-namespace.test.ts: its child is the namespace's init.
const BWRAP = ["bwrap", "--unshare-pid", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin"];
const BWRAP_TAIL = ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--"];

type Limits = Omit<Parameters<typeof startWatchdog>[0], "launcherPid" | "measurer" | "onLimit">;

/** Watches `child` under `limits` until it exits: killed at the first verdict, or after `killAfterMs`. Its verdicts. */
async function watchUntilExit(child: Subprocess, limits: Limits, killAfterMs?: number): Promise<string[]> {
  const verdicts: string[] = [];
  const watchdog = startWatchdog({
    ...limits,
    launcherPid: child.pid,
    measurer: new TreeMeasurer(),
    onLimit: (reason) => {
      verdicts.push(reason);
      child.kill("SIGKILL");
    },
  });
  const timeout = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  await child.exited;
  clearTimeout(timeout);
  watchdog.stop();
  return verdicts;
}

describe("startWatchdog", () => {
  test("the memory bound counts an orphan in a session of its own, held by init, as the walk from init finds it", async () => {
    const scratch = join(root, "memory");
    mkdirSync(scratch);
    // The hog's parent exits at once: it is handed to the namespace's init, in a new session.
    const hog = "b = bytearray(96 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nimport time; time.sleep(30)";
    const script = `(setsid /usr/bin/python3 -c "$0" &); exec sleep 30`;
    const launcher = Bun.spawn([...BWRAP, ...BWRAP_TAIL, "/bin/sh", "-c", script, hog], { stdio: ["ignore", "ignore", "pipe"] });
    const limits = { scratchDir: scratch, scratchBytes: 16 * MiB, scratchFiles: 100, totalMemoryBytes: 64 * MiB };
    const verdicts = await watchUntilExit(launcher, limits, 20_000);
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
    const limits = { scratchDir: scratch, scratchBytes: 16 * MiB, scratchFiles: 100_000, totalMemoryBytes: 2 ** 40, intervalMs: 3_600_000 };
    const verdicts = await watchUntilExit(writer, limits);
    expect(verdicts).toEqual(["the scratch directory grew past its 16 MiB limit (delete files in /scratch to make room)"]);
    expect(writer.signalCode).toBe("SIGKILL");
  }, 30_000);

  test("with the poll an hour apart, the sentinel's held walk counts deleted files still open and stops their writer", async () => {
    const scratch = join(root, "deleted");
    mkdirSync(scratch);
    // Each file is unlinked as soon as it is opened, so no walk of the tree ever sees a byte of the up to 400 MiB.
    const writer = [
      "import os, time",
      "time.sleep(1)",
      "files = []",
      "for n in range(100):",
      "    f = open(f'x{n}', 'wb'); os.unlink(f.name); files.append(f); f.write(b'1' * (4 << 20)); f.flush()",
      "time.sleep(20)",
    ].join("\n");
    const bind = ["--bind", scratch, "/scratch", "--chdir", "/scratch"];
    const launcher = Bun.spawn([...BWRAP, ...bind, ...BWRAP_TAIL, "/usr/bin/python3", "-c", writer], { stdio: ["ignore", "ignore", "pipe"] });
    const limits = { scratchDir: scratch, scratchBytes: 16 * MiB, scratchFiles: 100, totalMemoryBytes: 2 ** 40, intervalMs: 3_600_000 };
    const verdicts = await watchUntilExit(launcher, limits, 25_000);
    expect(verdicts).toEqual([
      "the scratch directory grew past its 16 MiB limit, counting deleted files still held open (delete files in /scratch to make room)",
    ]);
  }, 30_000);
});

test("a maps line's range is named in map_files without its padding", () => {
  expect(mapFilesName("00400000-00452000")).toBe("400000-452000");
  expect(mapFilesName("7f0e3c000000-7f0e3c021000")).toBe("7f0e3c000000-7f0e3c021000");
  expect(mapFilesName("00000000-00001000")).toBe("0-1000");
});

describe("usageIn", () => {
  const isRoot = process.getuid?.() === 0;
  // A deleted 8 MiB file on scratch's disk, written through a mapping and held by it alone, its descriptor closed
  // (mapped through libc: Python's mmap keeps a descriptor of its own), and beside it a linked 4 MiB file whose name
  // ends as a deleted mapping's line does.
  const python = [
    "import ctypes, os, time",
    "libc = ctypes.CDLL(None)",
    "libc.mmap.restype = ctypes.c_void_p",
    "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]",
    "def held(name, size, unlink):",
    "    fd = os.open(name, os.O_CREAT | os.O_RDWR); os.ftruncate(fd, size)",
    "    address = libc.mmap(None, size, 3, 1, fd, 0); ctypes.memset(address, 1, size); os.close(fd)",
    "    if unlink: os.unlink(name)",
    "held('m', 8 << 20, True); held('n (deleted)', 4 << 20, False); print('held', flush=True)",
    "time.sleep(30)",
  ].join("\n");
  // Prints what usageIn finds in the namespace, in a process of its own (which may lack CAP_SYS_ADMIN).
  const reader = `import { mapFilesReadable, usageIn } from ${JSON.stringify(join(import.meta.dir, "run-watchdog.ts"))};
console.log(JSON.stringify({ mapFiles: mapFilesReadable(), ...usageIn(process.argv[2], Number(process.argv[3])) }));`;

  async function read(prefix: string[], namespace: string, device: number) {
    const file = join(root, "read-usage.ts");
    writeFileSync(file, reader);
    const child = Bun.spawn([...prefix, process.execPath, file, namespace, String(device)], { stdout: "pipe", stderr: "inherit" });
    const text = await new Response(child.stdout).text();
    expect(await child.exited).toBe(0);
    return JSON.parse(text);
  }

  test("counts a deleted file held by a mapping alone, through map_files or, refused them, by its mapping's length", async () => {
    const dir = join(root, "mapped");
    mkdirSync(dir);
    // Bound after the tail's /dev: the test's temp folder may lie below /dev/shm.
    const argv = [...BWRAP, ...BWRAP_TAIL.slice(0, -1), "--bind", dir, dir, "--chdir", dir, "--", "/usr/bin/python3", "-c", python];
    const holder = Bun.spawn(argv, {
      stdout: "pipe",
      stderr: "inherit",
    });
    try {
      const reader = holder.stdout.getReader();
      const { value } = await reader.read();
      expect(new TextDecoder().decode(value)).toStartWith("held");
      const init = sandboxInit(holder.pid);
      if (!init) throw new Error("the holder's namespace was not found");
      const device = statSync(dir).dev;
      // As root, map_files is read; without CAP_SYS_ADMIN it is not (as any other user).
      const withoutAdmin = isRoot ? ["setpriv", "--bounding-set=-sys_admin,-checkpoint_restore", "--"] : [];
      const refused = await read(withoutAdmin, init.namespace, device);
      expect(refused.mapFiles).toBe(false);
      // Without map_files a line is all there is: the linked file named as deleted counts too (the safe side).
      expect(refused.deletedScratchBytes).toBe(12 * MiB);
      if (isRoot) {
        const admitted = await read([], init.namespace, device);
        expect(admitted.mapFiles).toBe(true);
        // Its blocks, as stat counts them: a filesystem may add a block of its own bookkeeping.
        expect(admitted.deletedScratchBytes).toBeGreaterThanOrEqual(8 * MiB);
        // map_files reaches the file itself: still linked, the one named as deleted is not counted.
        expect(admitted.deletedScratchBytes).toBeLessThan(12 * MiB);
      }
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
  }, 30_000);
});
