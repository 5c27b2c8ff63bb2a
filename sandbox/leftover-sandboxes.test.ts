import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descendants, isLive } from "../testing/process-tree.ts";
import { pidNamespaceOf, pidOfTask, processesIn } from "./pid-namespace.ts";
import { runInTestSandbox, testSandbox } from "../testing/test-sandbox.ts";
import { DEFAULT_SANDBOX_POLICY } from "./sandbox-policy.ts";

const pool = testSandbox.pool;

// A sandbox killed at any step of its start, or whose org is killed then, must leave no process behind. Each
// such process costs a pid slot under the cap all sandboxes share (as root), so a long-lived `org serve` could
// run out. bwrap's --die-with-parent alone left some: the outer bwrap sets it only after it cloned the sandbox,
// and bwrap's child (the sandbox's PID 1) only once it has set the sandbox up (sandbox/README.md, "Lifeline").
// Other sandboxes run on the same machine: only processes made here are counted (by scratch, marker, recorded
// pids and pid namespace).

const root = mkdtempSync(join(tmpdir(), "org-leftover-sandboxes-"));
const marker = `orgleft${process.pid}x${Date.now().toString(36)}`;
afterAll(() => {
  pool.discardAll();
  rmSync(root, { recursive: true, force: true });
});

/** How far a launcher has got: its shell and helpers, bwrap alone, bwrap's child setting up, the command running. */
type Step = "launcher" | "bwrap" | "setting up" | "running";
const STEPS: Step[] = ["launcher", "bwrap", "setting up", "running"];

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

function stepOf(launcher: number): Step {
  const below = descendants(launcher);
  const own = pidNamespaceOf(launcher);
  const inside = below.filter((pid) => {
    const namespace = pidNamespaceOf(pid);
    return namespace !== undefined && namespace !== own;
  });
  if (inside.length > 1) return "running";
  if (inside.length === 1) return "setting up";
  return below.some((pid) => comm(pid) === "bwrap") ? "bwrap" : "launcher";
}

/** Polls (yielding, so org's own event loop runs) until `launcher` is at `target` or past it; at most 10 s. */
async function reach(launcher: number, target: Step | number): Promise<void> {
  const deadline = performance.now() + 10_000;
  const until = typeof target === "number" ? performance.now() + target : undefined;
  while (performance.now() < deadline && isLive(launcher)) {
    if (until !== undefined ? performance.now() >= until : STEPS.indexOf(stepOf(launcher)) >= STEPS.indexOf(target as Step)) return;
    await Bun.sleep(0);
  }
}

/** The processes `parent` made itself (the children of each of its threads). */
function childrenOf(parent: number): number[] {
  try {
    return readdirSync(`/proc/${parent}/task`).flatMap((task) => {
      try {
        return readFileSync(`/proc/${parent}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/**
 * The launcher of the sandbox on `scratchDir`: the live child of `parent` that holds that scratch, waited for at
 * most 10 s. Not merely a new process below `parent`: a waiting sandbox of the pool may be starting beside it (a
 * refill after another file's run in the same test process), and its processes are new too.
 */
async function launcherOf(parent: number, scratchDir: string): Promise<number> {
  const { dev, ino } = statSync(scratchDir);
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const launcher = childrenOf(parent).find((pid) => holds(pid, `${dev}:${ino}`) && isLive(pid));
    if (launcher !== undefined) return launcher;
    await Bun.sleep(0);
  }
  throw new Error(`no launcher holding ${scratchDir} appeared below ${parent} within 10 s`);
}

/** A process as `pid@start time`: other processes on the machine may get a recorded pid again later. */
const identity = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return `${pid}@${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]}`;
  } catch {
    return `${pid}@gone`;
  }
};

/**
 * What a sandbox was made of when it was killed: its processes, its pid namespace (held open, so no later
 * namespace gets its inode number while the test runs) and its scratch (device:inode).
 */
type Made = { processes: string[]; namespace: string | undefined; scratch: string };
const heldNamespaces: number[] = [];
afterAll(() => {
  for (const fd of heldNamespaces) closeSync(fd);
});

function snapshot(launcher: number, scratchDir: string): Made {
  const { dev, ino } = statSync(scratchDir);
  const pids = [launcher, ...descendants(launcher)];
  const own = pidNamespaceOf(launcher);
  const inside = pids.find((pid) => pidNamespaceOf(pid) !== own);
  let namespace: string | undefined;
  if (inside !== undefined) {
    try {
      heldNamespaces.push(openSync(`/proc/${inside}/ns/pid`, "r"));
      namespace = pidNamespaceOf(inside);
    } catch {
      // Gone meanwhile: its processes are recorded all the same.
    }
  }
  return { processes: pids.map(identity), namespace, scratch: `${dev}:${ino}` };
}

/** Whether process `pid` holds `scratch` (device:inode) as a descriptor, working directory or root. */
function holds(pid: number, scratch: string): boolean {
  let links: string[];
  try {
    links = [...readdirSync(`/proc/${pid}/fd`).map((fd) => `fd/${fd}`), "cwd", "root"];
  } catch {
    return false;
  }
  return links.some((link) => {
    try {
      const { dev, ino } = statSync(`/proc/${pid}/${link}`);
      return `${dev}:${ino}` === scratch;
    } catch {
      return false;
    }
  });
}

/** Live processes holding `scratch` (device:inode). */
function holdersOf(scratch: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map(Number)
    .filter((pid) => holds(pid, scratch) && isLive(pid));
}

function markerProcesses(): number[] {
  return readdirSync("/proc")
    .filter((entry) => {
      try {
        return (
          /^\d+$/.test(entry) &&
          Number(entry) !== process.pid &&
          readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker) &&
          isLive(Number(entry))
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A process for a failure message: its name, parent, children and what it waits in. */
function describe(pid: number): string {
  const read = (file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, "utf8").trim();
    } catch {
      return "?";
    }
  };
  const ppid = read("stat").split(") ")[1]?.split(" ")[1];
  return `${pid} ${comm(pid)} ppid=${ppid} children=[${read(`task/${pid}/children`)}] wchan=${read("wchan")}`;
}

/** Whatever of these sandboxes still lives after at most 5 s, described for the failure message. */
async function leftovers(made: Made[]): Promise<string[]> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const left = made.flatMap((sandbox) => {
      const pids = new Set([
        ...sandbox.processes
          .filter((recorded) => identity(Number(recorded.split("@")[0])) === recorded)
          .map((recorded) => Number(recorded.split("@")[0]))
          .filter(isLive),
        ...(sandbox.namespace ? processesIn(sandbox.namespace).map(pidOfTask) : []),
        ...holdersOf(sandbox.scratch),
      ]);
      return [...pids].map(describe);
    });
    const marked = markerProcesses().map((pid) => `${describe(pid)} (marker)`);
    if ((left.length === 0 && marked.length === 0) || performance.now() > deadline) return [...left, ...marked];
    await Bun.sleep(50);
  }
}

/**
 * Where each trial kills: at each step of the start, then at one moment picked at random (each of the four tests picks
 * its own, so a run kills at four random moments; more per test cost a sandbox start each and find what these find).
 */
const moments = (): (Step | number)[] => [...STEPS, Math.random() * 60];

let count = 0;
const freshScratch = () => {
  const scratchDir = join(root, `scratch-${count++}`);
  mkdirSync(scratchDir, { mode: 0o700 });
  return scratchDir;
};

// A command that tries to outlive its sandbox: ignores hangups and terminations, and leaves a daemon behind.
const sleeper = ["/bin/sh", "-c", `trap '' HUP TERM; (setsid sleep 300 &); exec sleep 300 # ${marker}`];

// Each beside a waiting sandbox starting at the same time, as a refill after another file's run may be in the
// suite's one test process: that one is not the run's, though its processes are as new.
test("a running sandbox cancelled at each step of its start leaves no process behind", async () => {
  const made: Made[] = [];
  for (const moment of moments()) {
    const scratchDir = freshScratch();
    testSandbox.prestart({ policy: DEFAULT_SANDBOX_POLICY, scratchDir: freshScratch(), timeoutMs: 60_000 });
    const cancel = new AbortController();
    const run = runInTestSandbox({ argv: sleeper, scratchDir, timeoutMs: 60_000, abortSignal: cancel.signal });
    const launcher = await launcherOf(process.pid, scratchDir);
    await reach(launcher, moment);
    made.push(snapshot(launcher, scratchDir));
    cancel.abort();
    expect((await run).isCanceled).toBe(true);
  }
  expect(await leftovers(made)).toEqual([]);
}, 120_000);

test("a waiting sandbox discarded at each step of its start leaves no process behind", async () => {
  const made: Made[] = [];
  for (const moment of moments()) {
    const scratchDir = freshScratch();
    pool.discardAll();
    testSandbox.prestart({ policy: DEFAULT_SANDBOX_POLICY, scratchDir, timeoutMs: 60_000 });
    const [launcher] = pool.waitingPids();
    if (launcher === undefined) throw new Error("prestart started no sandbox");
    await reach(launcher, moment);
    made.push(snapshot(launcher, scratchDir));
    pool.discardAll();
  }
  expect(await leftovers(made)).toEqual([]);
}, 120_000);

/** A real org process that starts one sandbox (running `sleeper`, or waiting in the pool), SIGKILLed at `moment`. */
async function killOrgAt(kind: "running" | "waiting", moment: Step | number): Promise<Made> {
  const scratchDir = freshScratch();
  const module = JSON.stringify(join(import.meta.dir, "run-sandboxed.ts"));
  const policies = JSON.stringify(join(import.meta.dir, "sandbox-policy.ts"));
  const imports = `import { Sandbox } from ${module}; import { DEFAULT_SANDBOX_POLICY } from ${policies}; const sandbox = new Sandbox();`;
  const script =
    kind === "running"
      ? `${imports} sandbox.run({ policy: DEFAULT_SANDBOX_POLICY, argv: ${JSON.stringify(sleeper)}, scratchDir: ${JSON.stringify(scratchDir)}, timeoutMs: 60_000 }); setInterval(() => {}, 1000);`
      : `${imports} sandbox.prestart({ policy: DEFAULT_SANDBOX_POLICY, scratchDir: ${JSON.stringify(scratchDir)}, timeoutMs: 60_000 }); setInterval(() => {}, 1000);`;
  const org = Bun.spawn([process.execPath, "-e", script], { stdio: ["ignore", "ignore", "ignore"] });
  try {
    const launcher = await launcherOf(org.pid, scratchDir);
    await reach(launcher, moment);
    const sandbox = snapshot(launcher, scratchDir);
    org.kill("SIGKILL");
    await org.exited;
    return sandbox;
  } finally {
    org.kill("SIGKILL");
  }
}

test("when org is killed at each step of a running sandbox's start, nothing of the sandbox outlives it", async () => {
  const made: Made[] = [];
  for (const moment of moments()) made.push(await killOrgAt("running", moment));
  expect(await leftovers(made)).toEqual([]);
}, 120_000);

test("when org is killed at each step of a waiting sandbox's start, nothing of the sandbox outlives it", async () => {
  const made: Made[] = [];
  for (const moment of moments()) made.push(await killOrgAt("waiting", moment));
  expect(await leftovers(made)).toEqual([]);
}, 120_000);
