import { type FSWatcher, readdirSync, readFileSync, statSync, watch } from "node:fs";
import { FreeSpaceSentinel, SENTINEL_MS } from "./free-space-sentinel.ts";
import type { TreeMeasure, TreeMeasurer } from "./measure-tree.ts";
import { SANDBOX_NICENESS } from "./bwrap-argv.ts";
import { pidOfTask, processesIn, sandboxPidNamespace, signalNamespace } from "./pid-namespace.ts";
import { niceSessions } from "./session-niceness.ts";

const PAGE_BYTES = 4096;

/** What a watchdog tick found over a limit, as a sentence for the model; undefined while all is well. */
export type WatchdogVerdict = string | undefined;

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
  return usageOf(processesIn(namespace), scratchDevice);
}

/** usageIn for processes already listed: each a /proc directory of one of its live threads (`processesIn`). */
function usageOf(tasks: readonly string[], scratchDevice?: number): { residentBytes: number; deletedScratchBytes: number } {
  let residentBytes = 0;
  let deletedScratchBytes = 0;
  const counted = new Set<number>();
  const countIfDeleted = (path: string) => {
    // stat through the magic link reaches the open inode itself, however long or odd its former path.
    const stat = statSync(path);
    if (stat.dev !== scratchDevice || !stat.isFile() || stat.nlink > 0 || counted.has(stat.ino)) return;
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
      // A file can stay alive through a mapping alone, its descriptor closed.
      const pid = pidOfTask(task);
      for (const line of readFileSync(`${task}/maps`, "utf8").split("\n")) {
        const [range, , , lineDevice, inode] = line.split(" ", 5);
        if (lineDevice !== device || !range || inode === "0" || counted.has(Number(inode))) continue;
        try {
          countIfDeleted(`/proc/${pid}/map_files/${range}`);
        } catch {
          // map_files needs CAP_SYS_ADMIN: without it, a deleted mapping counts for its own length.
          if (!line.endsWith(" (deleted)")) continue;
          const [from, to] = range.split("-").map((hex) => Number.parseInt(hex, 16));
          counted.add(Number(inode));
          deletedScratchBytes += (to ?? 0) - (from ?? 0);
        }
      }
    } catch {
      // Exited meanwhile.
    }
  }
  return { residentBytes, deletedScratchBytes };
}

/** A walk that took less than this is repeated on the calling thread; a longer one goes to the worker. */
const CHEAP_WALK_MS = 2;

/** Above this many directories in scratch at the start of a run, the watchdog polls instead of watching. */
export const MAX_WATCHED_DIRECTORIES = 2000;

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

/** One tree a watchdog walks: its bounds, and what a walk of it says against them. */
type WatchedTree = { dir: string; maxBytes: number; maxEntries: number; verdict(tree: TreeMeasure): WatchdogVerdict };

/** Scratch as a watched tree. */
function scratchTree(options: WatchdogOptions): WatchedTree {
  return { dir: options.scratchDir, maxBytes: options.scratchBytes, maxEntries: options.scratchFiles, verdict: (tree) => treeVerdict(tree, options) };
}

/** A writable mount as a watched tree: what it held, plus scratch's bounds. */
function grownTree(bound: GrowthBound, options: WatchdogOptions): WatchedTree {
  const maxBytes = bound.heldBytes + options.scratchBytes;
  const maxEntries = bound.heldEntries + options.scratchFiles;
  const past = (limit: string) =>
    `${bound.shownAs} grew past its limit of ${limit} more than it held when the command began (what a command writes there gets the scratch's bounds; write less)`;
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
    ? `the scratch directory grew past its ${formatBytes(scratchBytes)} limit${deleted ? ", counting deleted files still held open" : ""} (delete files in /scratch to make room)`
    : undefined;
}

/** What one walk of scratch says against its bounds. */
function treeVerdict(tree: TreeMeasure, limits: { scratchBytes: number; scratchFiles: number }): WatchdogVerdict {
  if (tree.stalled) {
    return `the scratch directory could not be measured within ${tree.stalled} (the host's filesystem or machine is stalled); try again later`;
  }
  if (tree.unmeasurable) {
    // Stopping is the only safe answer: whatever lies below the entry would go uncounted.
    return `the scratch directory holds an entry the host cannot measure: ${tree.unmeasurable}; keep directories readable and paths under about 4000 characters (delete it to continue)`;
  }
  if (tree.entries > limits.scratchFiles) {
    return `the scratch directory grew past its limit of ${limits.scratchFiles} files (delete files in /scratch to make room)`;
  }
  return scratchBytesVerdict(tree.bytes, limits.scratchBytes);
}

/** What the sandbox's processes hold together: resident memory, and deleted scratch files kept open or mapped. */
function processVerdict(tasks: readonly string[], scratchDevice: number | undefined, treeBytes: number, options: WatchdogOptions): WatchdogVerdict {
  const usage = usageOf(tasks, scratchDevice);
  if (usage.residentBytes > options.totalMemoryBytes) {
    return `its processes together used more than ${formatBytes(options.totalMemoryBytes)} of memory`;
  }
  return usage.deletedScratchBytes > 0 ? scratchBytesVerdict(treeBytes + usage.deletedScratchBytes, options.scratchBytes, true) : undefined;
}

/**
 * The walks of scratch: one at a time; a change seen during a walk asks for another right after it, spaced
 * so the walks take at most about a fifth of a core. A small tree is walked right here, at once: a round
 * trip to the shared worker, busy with another sandbox's tree, would let a fast writer run further past the
 * limit. Changes come from inotify (`watch`), the poll (`schedule`) and the free-space sentinel (`checkFreeSpace`).
 */
class ScratchWalks {
  /** Bytes the last walk found, for the deleted-but-open count. */
  treeBytes = 0;
  #stopped = false;
  #walking = false;
  #changedDuringWalk = false;
  #pendingCheck: ReturnType<typeof setTimeout> | undefined;
  #lastScratchCheck = 0;
  #scratchCheckCost = 0;
  #watcher: FSWatcher | undefined;
  #watchDecided = false;
  readonly #sentinel: FreeSpaceSentinel;
  /** The sandbox is held (SIGSTOP) for the walk the sentinel asked for. */
  #holding = false;

  constructor(
    readonly tree: WatchedTree,
    readonly onVerdict: (verdict: WatchdogVerdict) => void,
    readonly hold: SandboxHold,
    readonly measurer: TreeMeasurer,
  ) {
    // The headroom the sentinel guards is the tree's room to grow: scratch's bound less what the last walk found.
    this.#sentinel = new FreeSpaceSentinel(tree.dir, tree.maxBytes);
  }

  /** Starts the sentinel's count from the free space now; the first walk comes later (`walk`). */
  startSentinel(): void {
    this.#sentinel.rebase(this.#sentinel.freeBytes(), 0);
  }

  /** One walk of the tree, on this thread when walks are cheap and the watch is decided, else on the worker. */
  measure(): Promise<TreeMeasure> | TreeMeasure {
    const { dir, maxBytes, maxEntries } = this.tree;
    return this.#watchDecided && this.#scratchCheckCost < CHEAP_WALK_MS
      ? this.measurer.measure(dir, maxBytes, maxEntries, { reuseListings: true })
      : this.measurer.offThread(dir, maxBytes, maxEntries, { reuseListings: true });
  }

  /** What a walk's result says against the bounds (and remembers its size). */
  judge(tree: TreeMeasure): WatchdogVerdict {
    this.treeBytes = tree.bytes;
    return this.tree.verdict(tree);
  }

  walk(): void {
    clearTimeout(this.#pendingCheck);
    this.#pendingCheck = undefined;
    if (this.#stopped) return;
    this.#walking = true;
    const freeAtStart = this.#sentinel.freeBytes();
    const started = performance.now();
    const tree = this.measure();
    if (tree instanceof Promise) {
      // A walk that fails leaves scratch unbounded: stop the run rather than let it write on unwatched.
      tree.then(
        (measured) => this.#walked(measured, started, freeAtStart),
        (error: unknown) => {
          this.onVerdict(`scratch could not be measured: ${error instanceof Error ? error.message : String(error)}`);
          this.#release();
        },
      );
    } else this.#walked(tree, started, freeAtStart);
  }

  /** A walk soon, spaced after the last one; during a walk, one right after it. */
  schedule(): void {
    if (this.#stopped || this.#pendingCheck) return;
    if (this.#walking) {
      this.#changedDuringWalk = true;
      return;
    }
    const wait = Math.max(0, this.#lastScratchCheck + Math.max(5, 4 * this.#scratchCheckCost) - performance.now());
    this.#pendingCheck = setTimeout(() => this.walk(), wait);
  }

  checkFreeSpace(): void {
    if (this.#stopped || this.#walking) return;
    const due = this.#sentinel.check(this.#scratchCheckCost);
    if (due === "walk") {
      // The disk is losing space fast: the sandbox waits while scratch is measured, so however long a busy
      // machine makes the walk, a writer gains only what it wrote before the sentinel saw it.
      this.#holding = true;
      this.hold.pause();
      this.walk();
    } else if (due === "schedule") this.schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#release();
    clearTimeout(this.#pendingCheck);
    this.#watcher?.close();
  }

  #walked(tree: TreeMeasure, started: number, freeAtStart: number | undefined): void {
    this.#walking = false;
    this.#lastScratchCheck = performance.now();
    this.#scratchCheckCost = this.#lastScratchCheck - started;
    this.#sentinel.spend(this.#scratchCheckCost);
    // Measured against the free space before the walk: what was written while it ran, counted or not, is
    // then taken as still to come, so the sentinel errs towards walking again.
    this.#sentinel.rebase(freeAtStart, tree.bytes);
    this.onVerdict(this.judge(tree));
    this.#release();
    if (!this.#watchDecided) this.#watch(tree.directories);
    else if (this.#watcher && tree.directories > MAX_WATCHED_DIRECTORIES) {
      this.#watcher.close();
      this.#watcher = undefined;
    }
    this.checkFreeSpace();
    if (this.#changedDuringWalk && !this.#walking) {
      this.#changedDuringWalk = false;
      this.schedule();
    }
  }

  /** Lets a held sandbox go on (a sandbox the verdict killed is gone already; SIGCONT does it no harm). */
  #release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.hold.resume();
  }

  /**
   * The recursive watch costs an inotify watch per directory from the host user's budget, and setting it up
   * walks the tree on this thread; a scratch with many directories (a node_modules) is left to the poll and
   * the free-space sentinel.
   */
  #watch(directories: number): void {
    this.#watchDecided = true;
    if (this.#stopped || directories > MAX_WATCHED_DIRECTORIES) return;
    try {
      // Symlinks under scratch are not followed: the watch stays inside the tree the sandbox can write.
      const watcher = watch(this.tree.dir, { recursive: true }, () => this.schedule());
      this.#watcher = watcher;
      watcher.on("error", () => this.#watcher?.close());
    } catch {
      // Out of inotify watches or instances: the poll alone still bounds scratch, only more loosely.
    }
  }
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
  let namespace: string | undefined;
  let scratchDevice: number | undefined;
  try {
    scratchDevice = statSync(options.scratchDir).dev;
  } catch {
    // No scratch yet: nothing on its device to count.
  }
  let stopped = false;
  let reported = false;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    clearInterval(sentinel);
    for (const walk of walks) walk.stop();
  };
  const report = (verdict: WatchdogVerdict) => {
    if (!verdict || stopped) return;
    reported = true;
    // Killed before stop() lets a sandbox held for a walk go on, so it never runs again.
    options.onLimit(verdict);
    stop();
  };
  // Held while any tree's walk asks for it: the sandbox goes on only once the last of them is done.
  let holds = 0;
  const hold: SandboxHold = {
    pause: () => {
      holds += 1;
      namespace ??= sandboxPidNamespace(options.launcherPid);
      if (namespace) signalNamespace(namespace, "SIGSTOP");
    },
    resume: () => {
      holds -= 1;
      if (namespace && holds === 0) signalNamespace(namespace, "SIGCONT");
    },
  };
  const walks = [scratchTree(options), ...(options.grownMounts ?? []).map((bound) => grownTree(bound, options))].map(
    (tree) => new ScratchWalks(tree, report, hold, options.measurer),
  );
  const [scratch] = walks;
  // The sandbox's session is made nicer as soon as its namespace is found, then again on each tick (see
  // session-niceness.ts).
  const timer = setInterval(() => {
    if (stopped) return;
    for (const walk of walks) walk.schedule();
    namespace ??= sandboxPidNamespace(options.launcherPid);
    if (!namespace) return;
    const tasks = processesIn(namespace);
    niceSessions(tasks.map(pidOfTask), SANDBOX_NICENESS);
    report(processVerdict(tasks, scratchDevice, scratch?.treeBytes ?? 0, options));
  }, options.intervalMs ?? 200);
  for (const walk of walks) walk.startSentinel();
  const sentinel = setInterval(() => {
    if (namespace === undefined) {
      namespace = sandboxPidNamespace(options.launcherPid);
      if (namespace) niceSessions(processesIn(namespace).map(pidOfTask), SANDBOX_NICENESS);
    }
    for (const walk of walks) walk.checkFreeSpace();
  }, SENTINEL_MS);
  // The first walks right away; each tree's watch starts once its walk says how large it is.
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

/** Holds every process of the sandbox still (SIGSTOP, which nothing can catch) and lets them go on (SIGCONT). */
type SandboxHold = { pause(): void; resume(): void };

/** A running watchdog: stop it, or stop it and learn what a last walk of scratch finds over its limits. */
export type Watchdog = { stop(): void; finalVerdict(): Promise<WatchdogVerdict> };

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
