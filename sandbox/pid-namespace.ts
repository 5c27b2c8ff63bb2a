import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The pid namespace of a process, as its `/proc/PID/ns/pid` link reads (`pid:[inode]`); undefined once it is gone. */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number, task: number | string = pid): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // Already exited.
  }
}

/** A sandbox's first process (its host pid) and its pid namespace (a `pid:[inode]` link text). */
export type SandboxInit = { pid: number; namespace: string };

/**
 * The sandbox's first process (bwrap's child, PID 1 inside) and the pid namespace bwrap made, found from the launcher
 * org spawned: the first process below it (the launcher's shell, then bwrap, then bwrap's child) that is not in the
 * launcher's own namespace.
 */
export function sandboxInit(launcherPid: number): SandboxInit | undefined {
  const own = pidNamespaceOf(launcherPid);
  let level = [launcherPid];
  // shell → [setpriv, nice and env when used, exec'd in place] bwrap → bwrap's child; one level to spare.
  for (let depth = 0; depth < 4 && level.length > 0; depth += 1) {
    const next: number[] = [];
    for (const child of level.flatMap((pid) => childrenOf(pid))) {
      const namespace = pidNamespaceOf(child);
      if (namespace && namespace !== own) return { pid: child, namespace };
      next.push(child);
    }
    level = next;
  }
  return undefined;
}

/** The pid namespace bwrap made, found from the launcher org spawned (`sandboxInit`); undefined before it exists. */
export function sandboxPidNamespace(launcherPid: number): string | undefined {
  return sandboxInit(launcherPid)?.namespace;
}

/** More processes than every sandbox together may run (their shared cap is 512): a walk stops there. */
const MAX_TREE_PROCESSES = 4096;

/**
 * `init` and the processes below it in `namespace`, read from the children lists of their threads. Every process of a
 * pid namespace descends from its init (an orphan is handed to it, and a sandbox can neither join nor make another
 * namespace), so this finds what `processesIn` finds, at the cost of the sandbox's processes, not the machine's:
 * the scan of /proc was 3 ms of CPU in every sandbox's start on a machine running 160 processes.
 */
export function processTreeIn(init: number, namespace: string): number[] {
  const found: number[] = [];
  const seen = new Set<number>();
  const queue = [init];
  while (seen.size < MAX_TREE_PROCESSES) {
    const pid = queue.pop();
    if (pid === undefined) break;
    if (seen.has(pid)) continue;
    seen.add(pid);
    if (pidNamespaceOf(pid) !== namespace) continue;
    found.push(pid);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // Exited meanwhile.
    }
    for (const task of tasks) queue.push(...childrenOf(pid, task));
  }
  return found;
}

function isZombieTask(statPath: string): boolean {
  try {
    // The state follows the parenthesised command name, which may itself contain spaces or parentheses.
    const stat = readFileSync(statPath, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/**
 * The /proc directory of a live thread of `pid`: the process's own while its main thread lives, else one of
 * its other threads' (a main thread may exit while the others go on holding memory and files), undefined for
 * a zombie that holds nothing but its pid until its parent reaps it.
 */
function liveTaskDirectory(pid: string): string | undefined {
  if (!isZombieTask(`/proc/${pid}/stat`)) return `/proc/${pid}`;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      if (!isZombieTask(`/proc/${pid}/task/${task}/stat`)) return `/proc/${pid}/task/${task}`;
    }
  } catch {
    // Gone meanwhile.
  }
  return undefined;
}

/** Host pids of the processes in a pid namespace (a `pid:[inode]` link text), zombies included. */
function pidsIn(namespace: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && pidNamespaceOf(Number(entry)) === namespace)
    .map(Number);
}

/** The process a `processesIn` directory (`/proc/PID` or `/proc/PID/task/TID`) belongs to. */
export function pidOfTask(task: string): number {
  return Number(task.split("/")[2]);
}

/** Live processes in a pid namespace, each with the /proc directory of one of its live threads. */
export function processesIn(namespace: string): string[] {
  const live: string[] = [];
  for (const pid of pidsIn(namespace)) {
    const directory = liveTaskDirectory(String(pid));
    if (directory) live.push(directory);
  }
  return live;
}

/**
 * Live processes from a sandbox's `init` down (`processTreeIn`), each with the /proc directory of one of its live
 * threads, as `processesIn` gives them at the cost of the sandbox's processes rather than the machine's. A process
 * handed to another parent while the walk runs (its parent died: it moves up, to init or a subreaper above it) or
 * listed beside a sibling that exits as its parent's list is read may be missed, and is found by the next walk;
 * the watchdog scans /proc every few ticks as well, so no such race can hide a process for longer than that.
 */
export function processesBelow(init: number, namespace: string): string[] {
  const live: string[] = [];
  for (const pid of processTreeIn(init, namespace)) {
    const directory = liveTaskDirectory(String(pid));
    if (directory) live.push(directory);
  }
  return live;
}

/**
 * SIGKILLs every process in a pid namespace. Killing its init alone would make the kernel kill the rest, but
 * an init that is not yet bwrap's (a child still setting the namespace up) may be missed by that; this is not.
 */
export function killNamespace(namespace: string): void {
  signalNamespace(namespace, "SIGKILL");
}

/** Sends `signal` to every process in a pid namespace (SIGSTOP and SIGCONT hold and release them all). */
export function signalNamespace(namespace: string, signal: NodeJS.Signals): void {
  for (const pid of pidsIn(namespace)) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Waits (up to `limitMs`) until no process is left in a pid namespace the kernel is tearing down. */
export async function waitUntilEmpty(namespace: string, limitMs = 2000): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  while (processesIn(namespace).length > 0) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(10);
  }
  return true;
}
