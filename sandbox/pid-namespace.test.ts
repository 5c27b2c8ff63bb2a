import { expect, test } from "bun:test";
import { killNamespace, pidOfTask, processesBelow, processesIn, processTreeIn, sandboxInit, waitUntilEmpty } from "./pid-namespace.ts";

// bwrap with a pid namespace of its own; its child is the namespace's init, as in every sandbox.
const BWRAP = ["bwrap", "--unshare-pid", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin"];
const BWRAP_TAIL = ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--"];

type Init = NonNullable<ReturnType<typeof sandboxInit>>;

/**
 * Runs `argv` in a bwrap of its own, waits (at most 10 s) until `ready` holds for its namespace's init, hands that to
 * `body` with the launcher's pid, and kills the namespace after, which must then empty.
 */
async function inSandbox(
  argv: string[],
  processes: string,
  ready: (init: Init) => boolean,
  body: (init: Init, launcherPid: number) => void,
): Promise<void> {
  const launcher = Bun.spawn([...BWRAP, ...BWRAP_TAIL, ...argv], { stdio: ["ignore", "ignore", "pipe"] });
  let init: ReturnType<typeof sandboxInit>;
  try {
    const deadline = performance.now() + 10_000;
    for (;;) {
      init = sandboxInit(launcher.pid);
      if (init !== undefined && ready(init)) break;
      if (performance.now() > deadline) throw new Error(`the sandbox never held ${processes}: ${await new Response(launcher.stderr).text()}`);
      await Bun.sleep(20);
    }
    body(init, launcher.pid);
  } finally {
    const namespace = init?.namespace;
    if (namespace) killNamespace(namespace);
    launcher.kill("SIGKILL");
    await launcher.exited;
    if (namespace) expect(await waitUntilEmpty(namespace)).toBe(true);
  }
}

test("the walk from a sandbox's init finds every process the scan of /proc finds, an orphan and a new session included", async () => {
  // A child, a grandchild left behind by its exited parent (handed to init), and a process in a session of its own.
  const script = "sleep 30 & (sleep 31 &); setsid sleep 32 & exec sleep 33";
  // init, and the sleeps: the shell exec'd the last one.
  await inSandbox(
    ["/bin/sh", "-c", script],
    "5 processes",
    (init) => processesIn(init.namespace).length >= 5,
    (init, launcherPid) => {
      const scanned = processesIn(init.namespace).map(pidOfTask).toSorted();
      expect(processTreeIn(init.pid, init.namespace).toSorted()).toEqual(scanned);
      expect(processesBelow(init.pid, init.namespace).toSorted()).toEqual(processesIn(init.namespace).toSorted());
      expect(scanned).toContain(init.pid);
      // A process outside the namespace is not walked into, even when it is asked for.
      expect(processTreeIn(launcherPid, init.namespace)).toEqual([]);
    },
  );
});

test("the walk finds the children of a process whose main thread has exited, and reads it through a live thread", async () => {
  // A child of the main thread (handed to the other thread once the main thread exits) and a child of that thread.
  const python = [
    "import ctypes, os, subprocess, threading, time",
    "def keep():",
    "    subprocess.Popen(['sleep', '35'])",
    "    time.sleep(30)",
    "subprocess.Popen(['sleep', '34'])",
    "threading.Thread(target=keep).start()",
    "time.sleep(0.2)",
    "ctypes.CDLL(None).syscall(60 if os.uname().machine == 'x86_64' else 93, 0)",
  ].join("\n");
  // init, python (read through its thread) and the two sleeps.
  await inSandbox(
    ["/usr/bin/python3", "-c", python],
    "4 processes",
    (init) => {
      const scanned = processesIn(init.namespace);
      return scanned.length >= 4 && scanned.some((task) => task.includes("/task/"));
    },
    (init) => {
      const walked = processesBelow(init.pid, init.namespace);
      expect(walked.toSorted()).toEqual(processesIn(init.namespace).toSorted());
      expect(walked).toHaveLength(4);
    },
  );
});
