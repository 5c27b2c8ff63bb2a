import { type FSWatcher, readdirSync, readFileSync, statfsSync, statSync, watch } from "node:fs";
import { measureTree, measureTreeOffThread, type TreeMeasure } from "./measure-tree.ts";
import { processesIn, sandboxPidNamespace } from "./pid-namespace.ts";

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
  for (const task of processesIn(namespace)) {
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
      const pid = task.split("/")[2];
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
export function startWatchdog(options: {
  bwrapPid: number;
  scratchDir: string;
  scratchBytes: number;
  scratchFiles: number;
  totalMemoryBytes: number;
  intervalMs?: number;
  onLimit(reason: string): void;
}): Watchdog {
  let namespace: string | undefined;
  let stopped = false;
  let watcher: FSWatcher | undefined;
  let pendingCheck: ReturnType<typeof setTimeout> | undefined;
  let lastScratchCheck = 0;
  let scratchCheckCost = 0;
  let scratchDevice: number | undefined;
  try {
    scratchDevice = statSync(options.scratchDir).dev;
  } catch {
    // No scratch yet: nothing on its device to count.
  }
  let treeBytes = 0;
  const scratchVerdict = (bytes: number, deleted = false): WatchdogVerdict =>
    bytes > options.scratchBytes
      ? `the scratch directory grew past its ${formatBytes(options.scratchBytes)} limit${deleted ? ", counting deleted files still held open" : ""} (delete files in /scratch to make room)`
      : undefined;
  const judgeTree = (tree: TreeMeasure): WatchdogVerdict => {
    treeBytes = tree.bytes;
    if (tree.stalled) {
      return `the scratch directory could not be measured within ${tree.stalled} (the host's filesystem or machine is stalled); try again later`;
    }
    if (tree.unmeasurable) {
      // Stopping is the only safe answer: whatever lies below the entry would go uncounted.
      return `the scratch directory holds an entry the host cannot measure: ${tree.unmeasurable}; keep directories readable and paths under about 4000 characters (delete it to continue)`;
    }
    if (tree.entries > options.scratchFiles) {
      return `the scratch directory grew past its limit of ${options.scratchFiles} files (delete files in /scratch to make room)`;
    }
    return scratchVerdict(tree.bytes);
  };
  const checkProcesses = (): WatchdogVerdict => {
    namespace ??= sandboxPidNamespace(options.bwrapPid);
    if (!namespace) return undefined;
    const usage = usageIn(namespace, scratchDevice);
    if (usage.residentBytes > options.totalMemoryBytes) {
      return `its processes together used more than ${formatBytes(options.totalMemoryBytes)} of memory`;
    }
    return usage.deletedScratchBytes > 0 ? scratchVerdict(treeBytes + usage.deletedScratchBytes, true) : undefined;
  };
  let reported = false;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    clearInterval(sentinel);
    clearTimeout(pendingCheck);
    watcher?.close();
  };
  const report = (verdict: WatchdogVerdict) => {
    if (!verdict || stopped) return;
    reported = true;
    stop();
    options.onLimit(verdict);
  };
  const measure = (): Promise<TreeMeasure> | TreeMeasure =>
    watchDecided && scratchCheckCost < CHEAP_WALK_MS
      ? measureTree(options.scratchDir, options.scratchBytes, options.scratchFiles, { reuseListings: true })
      : measureTreeOffThread(options.scratchDir, options.scratchBytes, options.scratchFiles, { reuseListings: true });
  // One walk at a time; a change seen during a walk asks for another right after it, spaced so the walks
  // take at most about a fifth of a core. A small tree is walked right here, at once: a round trip to the
  // shared worker, busy with another sandbox's tree, would let a fast writer run further past the limit.
  let walking = false;
  let changedDuringWalk = false;
  const walked = (tree: TreeMeasure, started: number, freeAtStart: number | undefined) => {
    walking = false;
    lastScratchCheck = performance.now();
    scratchCheckCost = lastScratchCheck - started;
    spendWalkCredit(scratchCheckCost);
    // Measured against the free space before the walk: what was written while it ran, counted or not, is
    // then taken as still to come, so the sentinel errs towards walking again.
    rebaseFreeSpace(freeAtStart, tree.bytes);
    report(judgeTree(tree));
    if (!watchDecided) watchScratch(tree.directories);
    else if (watcher && tree.directories > MAX_WATCHED_DIRECTORIES) {
      watcher.close();
      watcher = undefined;
    }
    checkFreeSpace();
    if (changedDuringWalk && !walking) {
      changedDuringWalk = false;
      scheduleScratchCheck();
    }
  };
  const walk = () => {
    clearTimeout(pendingCheck);
    pendingCheck = undefined;
    if (stopped) return;
    walking = true;
    const freeAtStart = freeBytes();
    const started = performance.now();
    const tree = measure();
    if (tree instanceof Promise) tree.then((measured) => walked(measured, started, freeAtStart));
    else walked(tree, started, freeAtStart);
  };
  const scheduleScratchCheck = () => {
    if (stopped || pendingCheck) return;
    if (walking) {
      changedDuringWalk = true;
      return;
    }
    pendingCheck = setTimeout(walk, Math.max(0, lastScratchCheck + Math.max(5, 4 * scratchCheckCost) - performance.now()));
  };
  const timer = setInterval(() => {
    if (stopped) return;
    scheduleScratchCheck();
    report(checkProcesses());
  }, options.intervalMs ?? 200);
  // The free space of scratch's filesystem, read every few milliseconds (a statfs costs microseconds), sees a
  // fast writer whatever inotify does: once the disk has lost, or at its current pace will have lost by the
  // end of a walk, more than scratch's headroom since the last walk began, walk now. Others writing to the
  // same disk only cause early walks, never a verdict.
  let freeAtWalk: number | undefined;
  let headroomAtWalk = options.scratchBytes;
  let lastFree: { bytes: number; at: number } | undefined;
  const freeBytes = (): number | undefined => {
    try {
      const stat = statfsSync(options.scratchDir);
      return stat.bfree * stat.bsize;
    } catch {
      return undefined;
    }
  };
  function rebaseFreeSpace(free: number | undefined, bytes: number) {
    freeAtWalk = free;
    headroomAtWalk = Math.max(0, options.scratchBytes - bytes);
  }
  // Walks the sentinel asks for run back to back for a burst of SENTINEL_BURST_MS, then at no more than a third of a
  // core: a writer filling scratch is caught within the burst, a host busy writing elsewhere costs no more.
  let walkCredit = SENTINEL_BURST_MS;
  let creditAt = performance.now();
  function refillWalkCredit() {
    const now = performance.now();
    walkCredit = Math.min(SENTINEL_BURST_MS, walkCredit + (now - creditAt) / 3);
    creditAt = now;
  }
  function spendWalkCredit(ms: number) {
    refillWalkCredit();
    walkCredit -= ms;
  }
  function checkFreeSpace() {
    if (stopped || walking || freeAtWalk === undefined) return;
    const free = freeBytes();
    if (free === undefined) return;
    const now = performance.now();
    // Bytes per millisecond the disk is losing right now.
    const pace = lastFree && now > lastFree.at ? Math.max(0, lastFree.bytes - free) / (now - lastFree.at) : 0;
    lastFree = { bytes: free, at: now };
    // Space someone else frees must not hide what the sandbox takes afterwards.
    freeAtWalk = Math.max(freeAtWalk, free);
    const lostByWalkEnd = freeAtWalk - free + pace * (scratchCheckCost + SENTINEL_MS);
    if (lostByWalkEnd <= headroomAtWalk) return;
    refillWalkCredit();
    if (walkCredit > 0) walk();
    else scheduleScratchCheck();
  }
  rebaseFreeSpace(freeBytes(), 0);
  const sentinel = setInterval(checkFreeSpace, SENTINEL_MS);
  // The recursive watch costs an inotify watch per directory from the host user's budget, and setting it up
  // walks the tree on this thread; a scratch with many directories (a node_modules) is left to the poll and
  // the free-space sentinel.
  let watchDecided = false;
  const watchScratch = (directories: number) => {
    watchDecided = true;
    if (stopped || directories > MAX_WATCHED_DIRECTORIES) return;
    try {
      // Symlinks under scratch are not followed: the watch stays inside the tree the sandbox can write.
      watcher = watch(options.scratchDir, { recursive: true }, scheduleScratchCheck);
      watcher.on("error", () => watcher?.close());
    } catch {
      // Out of inotify watches or instances: the poll alone still bounds scratch, only more loosely.
    }
  };
  // The first walk right away; the watch starts once it says how large the tree is.
  walk();
  return {
    stop,
    async finalVerdict() {
      const alreadyReported = reported;
      stop();
      if (alreadyReported) return undefined;
      // A writer quicker than the last walk may have finished in between: one more walk tells.
      return judgeTree(await measure());
    },
  };
}

/** A running watchdog: stop it, or stop it and learn what a last walk of scratch finds over its limits. */
export type Watchdog = { stop(): void; finalVerdict(): Promise<WatchdogVerdict> };

/** How often the free-space sentinel reads statfs. */
const SENTINEL_MS = 10;

/** How long the sentinel's walks may run back to back before they are held to a third of a core. */
const SENTINEL_BURST_MS = 250;

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
