import { readdirSync, readFileSync, statSync } from "node:fs";
import { SENTINEL_MAX_MS, SENTINEL_MS } from "./free-space-sentinel.ts";
import type { TreeMeasure, TreeMeasurer } from "./measure-tree.ts";
import { type SandboxHold, ScratchWalks, type WatchdogVerdict, type WatchedTree } from "./scratch-walks.ts";
import { SANDBOX_NICENESS } from "./bwrap-argv.ts";
import { pidOfTask, processesBelow, processesIn, processTreeIn, type SandboxInit, sandboxInit, signalNamespace } from "./pid-namespace.ts";
import { niceSessions } from "./session-niceness.ts";

const PAGE_BYTES = 4096;

/** What /proc/PID/maps appends to the path of a mapped file that is no longer linked. */
const DELETED = " (deleted)";

/**
 * Every how many ticks the watchdog scans all of /proc for the sandbox's processes rather than walking down from its
 * init: a process the walk misses in a race (`processesBelow`) is counted within this many ticks whatever it does.
 */
const TICKS_A_SCAN = 5;

/** `major:minor` of a device number as /proc/PID/maps prints it (glibc's dev_t encoding). */
export function mapsDevice(device: number): string {
  const dev = BigInt(device);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/**
 * What the processes in `namespace` (a `pid:[inode]` link text) hold: resident memory, and the blocks of files
 * on `scratchDevice` they keep open or mapped after deleting them. Such files no longer appear in the scratch
 * tree, yet fill the host's disk until the last descriptor or mapping goes.
 */
export function usageIn(namespace: string, scratchDevice?: number): { residentBytes: number; deletedScratchBytes: number } {
  return usageOf(processesIn(namespace), scratchDevice, mapFilesReadableOnce());
}

/** A maps line's range (`00400000-00452000`: padded to 8 digits) as map_files names it (`400000-452000`). */
export function mapFilesName(range: string): string {
  return range.replace(/^0+(?=[0-9a-f])/, "").replace(/-0+(?=[0-9a-f])/, "-");
}

/**
 * Whether this process may follow /proc/PID/map_files links (CAP_SYS_ADMIN), tried on a file it maps itself.
 * Without it every try fails, each at the cost of an exception: a watchdog asks once.
 */
export function mapFilesReadable(): boolean {
  try {
    const mapped = readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .find((line) => /^[1-9]/.test(line.split(" ", 5)[4] ?? ""));
    const range = mapped?.split(" ", 1)[0];
    if (!range) return false;
    statSync(`/proc/self/map_files/${mapFilesName(range)}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * mapFilesReadable asked at the first call and remembered: it reads bun's own maps (a millisecond of a sandbox call's
 * CPU), and most runs never meet a mapping on scratch's device that needs it.
 */
function mapFilesReadableOnce(): () => boolean {
  let readable: boolean | undefined;
  return () => (readable ??= mapFilesReadable());
}

/**
 * usageIn for processes already listed: each a /proc directory of one of its live threads (`processesIn`);
 * `mapFiles`: whether map_files can be read (`mapFilesReadable`), asked only once a mapping on scratch's device is met.
 */
function usageOf(
  tasks: readonly string[],
  scratchDevice: number | undefined,
  mapFiles: () => boolean,
): { residentBytes: number; deletedScratchBytes: number } {
  let residentBytes = 0;
  let deletedScratchBytes = 0;
  const counted = new Set<number>();
  // Scratch's inodes found still linked in this call: a file mapped in several pieces (a library's segments, in
  // each process) is looked at once a call, not once a piece.
  const linked = new Set<number>();
  const countIfDeleted = (path: string) => {
    // stat through the magic link reaches the open inode itself, however long or odd its former path.
    const stat = statSync(path);
    if (stat.dev !== scratchDevice || counted.has(stat.ino)) return;
    if (!stat.isFile() || stat.nlink > 0) {
      linked.add(stat.ino);
      return;
    }
    counted.add(stat.ino);
    deletedScratchBytes += stat.blocks * 512;
  };
  const device = scratchDevice === undefined ? undefined : mapsDevice(scratchDevice);
  for (const task of tasks) {
    try {
      const resident = Number(readFileSync(`${task}/statm`, "utf8").split(" ")[1]);
      if (Number.isFinite(resident)) residentBytes += resident * PAGE_BYTES;
      if (device === undefined) continue;
      for (const fd of readdirSync(`${task}/fd`)) {
        try {
          countIfDeleted(`${task}/fd/${fd}`);
        } catch {
          // Closed meanwhile.
        }
      }
      // A file can stay alive through a mapping alone, its descriptor closed. The kernel ends the line of a mapped
      // file no longer linked with " (deleted)": only those lines can hold scratch's disk, and only they are looked at
      // (a browser's processes map hundreds of libraries from the disk scratch may share: reading each line took half
      // of a tick's 15 ms, five ticks a second). A linked file merely named so is told apart by map_files.
      const maps = readFileSync(`${task}/maps`, "utf8");
      if (!maps.includes(DELETED)) continue;
      const pid = pidOfTask(task);
      for (const line of maps.split("\n")) {
        if (!line.endsWith(DELETED)) continue;
        const [range, , , lineDevice, inode] = line.split(" ", 5);
        if (lineDevice !== device || !range || inode === "0" || counted.has(Number(inode)) || linked.has(Number(inode))) continue;
        if (mapFiles()) {
          try {
            countIfDeleted(`/proc/${pid}/map_files/${mapFilesName(range)}`);
            continue;
          } catch {
            // Unmapped meanwhile, or the process is closed to us: counted as without map_files.
          }
        }
        // Without map_files, a deleted mapping counts for its own length.
        const [from, to] = range.split("-").map((hex) => Number.parseInt(hex, 16));
        counted.add(Number(inode));
        deletedScratchBytes += (to ?? 0) - (from ?? 0);
      }
    } catch {
      // Exited meanwhile.
    }
  }
  return { residentBytes, deletedScratchBytes };
}

/**
 * A writable host folder a run may change besides scratch (the write view's copy of the workspace), shown inside as
 * `shownAs`: it may grow by scratch's bounds past what it held when the run began (`heldBytes` and `heldEntries`, as
 * `measureTree` counts them), so one call cannot fill the disk through it.
 */
export type GrowthBound = { dir: string; shownAs: string; heldBytes: number; heldEntries: number };

/** The bounds a watchdog holds a run to, and where it reports. */
type WatchdogOptions = {
  /** The launcher org spawned (the shell above bwrap): the sandbox's pid namespace is found below it. */
  launcherPid: number;
  scratchDir: string;
  scratchBytes: number;
  scratchFiles: number;
  /** Writable mounts held to scratch's bounds on what they gain. */
  grownMounts?: readonly GrowthBound[];
  totalMemoryBytes: number;
  intervalMs?: number;
  /** Whose walks measure scratch (the Sandbox's): its worker thread and the listings it remembers. */
  measurer: TreeMeasurer;
  onLimit(reason: string): void;
};

/** Scratch as a watched tree; `deletedBytes`: what the sandbox's processes hold of scratch's disk in deleted files. */
function scratchTree(options: WatchdogOptions, deletedBytes: () => number): WatchedTree {
  return {
    dir: options.scratchDir,
    maxBytes: options.scratchBytes,
    maxEntries: options.scratchFiles,
    verdict: (tree) => treeVerdict(tree, options),
    heldOpen: (treeBytes) => {
      const bytes = deletedBytes();
      return { bytes, verdict: bytes > 0 ? scratchBytesVerdict(treeBytes + bytes, options.scratchBytes, true) : undefined };
    },
  };
}

/** A writable mount as a watched tree: what it held, plus scratch's bounds. */
function grownTree(bound: GrowthBound, options: WatchdogOptions): WatchedTree {
  const maxBytes = bound.heldBytes + options.scratchBytes;
  const maxEntries = bound.heldEntries + options.scratchFiles;
  const past = (limit: string) =>
    `${bound.shownAs} grew past its limit of ${limit} more than it held when the command began (what a ` +
    `command writes there gets the scratch's bounds; write less)`;
  return {
    dir: bound.dir,
    maxBytes,
    maxEntries,
    verdict: (tree) => {
      if (tree.stalled || tree.unmeasurable) return treeVerdict(tree, options)?.replace("the scratch directory", bound.shownAs);
      if (tree.entries > maxEntries) return past(`${options.scratchFiles} entries`);
      return tree.bytes > maxBytes ? past(formatBytes(options.scratchBytes)) : undefined;
    },
  };
}

/** Scratch over its byte bound, as a sentence for the model (`deleted`: counting deleted files still held open). */
function scratchBytesVerdict(bytes: number, scratchBytes: number, deleted = false): WatchdogVerdict {
  return bytes > scratchBytes
    ? `the scratch directory grew past its ${formatBytes(scratchBytes)} limit${
        deleted ? ", counting deleted " + "files still held open" : ""
      } (delete files in /scratch to make room)`
    : undefined;
}

/** What one walk of scratch says against its bounds. */
function treeVerdict(tree: TreeMeasure, limits: { scratchBytes: number; scratchFiles: number }): WatchdogVerdict {
  if (tree.stalled) {
    return `the scratch directory could not be measured within ${tree.stalled} (the host's filesystem or machine is stalled); try again later`;
  }
  if (tree.unmeasurable) {
    // Stopping is the only safe answer: whatever lies below the entry would go uncounted.
    return (
      `the scratch directory holds an entry the host cannot measure: ${tree.unmeasurable}; keep ` +
      `directories readable and paths under about 4000 characters (delete it to continue)`
    );
  }
  if (tree.entries > limits.scratchFiles) {
    return `the scratch directory grew past its limit of ${limits.scratchFiles} files (delete files in /scratch to make room)`;
  }
  return scratchBytesVerdict(tree.bytes, limits.scratchBytes);
}

/** What the sandbox's processes hold together: resident memory, and deleted scratch files kept open or mapped. */
function processVerdict(
  tasks: readonly string[],
  scratch: { device: number | undefined; mapFiles: () => boolean; treeBytes: number },
  options: WatchdogOptions,
): WatchdogVerdict {
  const usage = usageOf(tasks, scratch.device, scratch.mapFiles);
  if (usage.residentBytes > options.totalMemoryBytes) {
    return `its processes together used more than ${formatBytes(options.totalMemoryBytes)} of memory`;
  }
  return usage.deletedScratchBytes > 0 ? scratchBytesVerdict(scratch.treeBytes + usage.deletedScratchBytes, options.scratchBytes, true) : undefined;
}

/**
 * Watches what rlimits cannot bound: the scratch directory's total size and entry count (RLIMIT_FSIZE is per
 * file), including files deleted but still held open, and the resident memory of all sandbox processes
 * together (RLIMIT_AS is per process). Calls `onLimit` once with the reason when a bound is passed.
 *
 * Page-cache writes run at gigabytes a second, so a poll alone lets a writer pass the scratch bound many times
 * over between ticks on a busy machine. Every change inotify reports under scratch therefore triggers a
 * re-measure too, spaced so the walks cost at most about a fifth of one core, on a worker thread so a large
 * tree never stalls the caller; the poll remains for memory and as the fallback when inotify is unavailable.
 * A free-space sentinel catches a writer inotify misses, with walks back to back for a short burst; walks
 * reread only the directories that changed since the last one.
 */
export function startWatchdog(options: WatchdogOptions): Watchdog {
  let init: SandboxInit | undefined;
  const scratchDevice = deviceOf(options.scratchDir);
  const mapFiles = mapFilesReadableOnce();
  let stopped = false;
  let reported = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const walk of walks) walk.stop();
  };
  const report = (verdict: WatchdogVerdict) => {
    if (!verdict || stopped) return;
    reported = true;
    // Killed before stop() lets a sandbox held for a walk go on, so it never runs again.
    options.onLimit(verdict);
    stop();
  };
  const findInit = () => (init ??= sandboxInit(options.launcherPid));
  const hold = namespaceHold(findInit, () => init);
  const walks = [
    scratchTree(options, () => deletedBelow(findInit(), scratchDevice, mapFiles)),
    ...(options.grownMounts ?? []).map((bound) => grownTree(bound, options)),
  ].map((tree) => new ScratchWalks(tree, report, hold, options.measurer));
  const [scratch] = walks;
  const tickMs = options.intervalMs ?? 200;
  let ticks = 0;
  // The sandbox's session is made nicer as soon as its namespace is found, then again on each tick (see
  // session-niceness.ts).
  const tick = () => {
    for (const walk of walks) walk.schedule();
    init ??= sandboxInit(options.launcherPid);
    if (!init) return;
    ticks += 1;
    const tasks = ticks % TICKS_A_SCAN === 0 ? processesIn(init.namespace) : processesBelow(init.pid, init.namespace);
    niceSessions(tasks.map(pidOfTask), SANDBOX_NICENESS);
    report(processVerdict(tasks, { device: scratchDevice, mapFiles, treeBytes: scratch?.treeBytes ?? 0 }, options));
  };
  for (const walk of walks) walk.startSentinel();
  // One timer for the tick and the free-space sentinel: each wake-up costs bun more than the work it does. Until
  // bwrap's child exists it comes every SENTINEL_MS to find it, then as often as the sentinel's headroom asks.
  let nextTick = performance.now() + tickMs;
  const beat = () => {
    if (stopped) return;
    if (init === undefined) {
      init = sandboxInit(options.launcherPid);
      // Its processes from its init down (a few reads, not a scan of every process on the machine).
      if (init) niceSessions(processTreeIn(init.pid, init.namespace), SANDBOX_NICENESS);
    }
    for (const walk of walks) walk.beat();
    if (!stopped && performance.now() >= nextTick) {
      nextTick = performance.now() + tickMs;
      tick();
    }
    if (stopped) return;
    let waitMs = init === undefined ? SENTINEL_MS : SENTINEL_MAX_MS;
    for (const walk of walks) waitMs = Math.min(waitMs, walk.nextCheckMs());
    timer = setTimeout(beat, Math.max(0, Math.min(waitMs, nextTick - performance.now())));
  };
  timer = setTimeout(beat, SENTINEL_MS);
  // The first walks right away; each tree's watch is decided once its walk says how large it is.
  for (const walk of walks) walk.walk();
  return {
    stop,
    async finalVerdict() {
      const alreadyReported = reported;
      stop();
      if (alreadyReported) return undefined;
      // A writer quicker than the last walk may have finished in between: one more walk of each tree tells.
      for (const walk of walks) {
        const verdict = walk.judge(await walk.measure());
        if (verdict) return verdict;
      }
      return undefined;
    },
  };
}

/**
 * What the processes from the sandbox's init down hold of scratch's disk in deleted files; nothing before it is found.
 * Asked while the sandbox is held, so none of them moves; one that left the tree is counted by the tick's scans.
 */
function deletedBelow(init: SandboxInit | undefined, scratchDevice: number | undefined, mapFiles: () => boolean): number {
  return init ? usageOf(processesBelow(init.pid, init.namespace), scratchDevice, mapFiles).deletedScratchBytes : 0;
}

/** The device `dir` is on; undefined while it does not exist. */
function deviceOf(dir: string): number | undefined {
  try {
    return statSync(dir).dev;
  } catch {
    return undefined; // No scratch yet: nothing on its device to count.
  }
}

/**
 * Holds every process of the sandbox's namespace (`find` looks for it, `found` only says what was found) while any
 * tree's walk asks for it: the sandbox goes on only once the last of them is done.
 */
function namespaceHold(find: () => SandboxInit | undefined, found: () => SandboxInit | undefined): SandboxHold {
  let holds = 0;
  return {
    pause: () => {
      holds += 1;
      const init = find();
      if (init) signalNamespace(init.namespace, "SIGSTOP");
    },
    resume: () => {
      holds -= 1;
      const init = found();
      if (init && holds === 0) signalNamespace(init.namespace, "SIGCONT");
    },
  };
}

/** A running watchdog: stop it, or stop it and learn what a last walk of scratch finds over its limits. */
export type Watchdog = { stop(): void; finalVerdict(): Promise<WatchdogVerdict> };

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
