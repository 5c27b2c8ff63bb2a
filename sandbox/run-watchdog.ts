import { type FSWatcher, lstatSync, readdirSync, readFileSync, readlinkSync, watch } from "node:fs";
import { join } from "node:path";

const PAGE_BYTES = 4096;

/** What a watchdog tick found over a limit, as a sentence for the model; undefined while all is well. */
export type WatchdogVerdict = string | undefined;

/**
 * Size and entry count of a directory tree, stopping once either passes its limit (so a million files cost
 * no more than the limit's worth of lstat calls). Symlinks are counted, never followed.
 */
export function measureTree(root: string, maxBytes: number, maxEntries: number): { bytes: number; entries: number } {
  let bytes = 0;
  let entries = 0;
  const pending = [root];
  while (pending.length > 0) {
    const directory = pending.pop() as string;
    let names: string[];
    try {
      names = readdirSync(directory);
    } catch {
      continue;
    }
    for (const name of names) {
      entries += 1;
      const path = join(directory, name);
      try {
        const stat = lstatSync(path);
        // Allocated blocks, so sparse files count for what they really hold on disk.
        bytes += Math.max(stat.blocks * 512, 0);
        if (stat.isDirectory()) pending.push(path);
      } catch {
        // Deleted between readdir and lstat.
      }
      if (bytes > maxBytes || entries > maxEntries) return { bytes, entries };
    }
  }
  return { bytes, entries };
}

function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** The pid namespace bwrap made: the one its first child lives in. */
export function sandboxPidNamespace(bwrapPid: number): string | undefined {
  const own = pidNamespaceOf(bwrapPid);
  try {
    const children = readFileSync(`/proc/${bwrapPid}/task/${bwrapPid}/children`, "utf8").trim().split(/\s+/);
    for (const child of children) {
      const namespace = pidNamespaceOf(Number(child));
      if (namespace && namespace !== own) return namespace;
    }
  } catch {
    // bwrap already exited.
  }
  return undefined;
}

function isZombie(pid: string): boolean {
  try {
    // The state follows the parenthesised command name, which may itself contain spaces or parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/** Live (not zombie) processes in a pid namespace. A zombie holds nothing but its pid until its parent reaps it. */
function processesIn(namespace: string): string[] {
  return readdirSync("/proc").filter(
    (entry) => /^\d+$/.test(entry) && pidNamespaceOf(Number(entry)) === namespace && !isZombie(entry),
  );
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

/** Resident bytes of every process in `namespace` (a `pid:[inode]` link text). */
export function residentBytesIn(namespace: string): number {
  let total = 0;
  for (const entry of processesIn(namespace)) {
    try {
      const resident = Number(readFileSync(`/proc/${entry}/statm`, "utf8").split(" ")[1]);
      if (Number.isFinite(resident)) total += resident * PAGE_BYTES;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

/**
 * Watches what rlimits cannot bound: the scratch directory's total size and entry count (RLIMIT_FSIZE is per
 * file) and the resident memory of all sandbox processes together (RLIMIT_AS is per process). Calls `onLimit`
 * once with the reason when a bound is passed.
 *
 * Page-cache writes run at gigabytes a second, so a poll alone lets a writer pass the scratch bound many times
 * over between ticks on a busy machine. Every change inotify reports under scratch therefore triggers a
 * re-measure too, spaced so the walks cost at most about a third of one core; the poll remains for memory and
 * as the fallback when inotify is unavailable.
 */
export function startWatchdog(options: {
  bwrapPid: number;
  scratchDir: string;
  scratchBytes: number;
  scratchFiles: number;
  totalMemoryBytes: number;
  intervalMs?: number;
  onLimit(reason: string): void;
}): () => void {
  let namespace: string | undefined;
  let stopped = false;
  let watcher: FSWatcher | undefined;
  let pendingCheck: ReturnType<typeof setTimeout> | undefined;
  let lastScratchCheck = 0;
  let scratchCheckCost = 0;
  const checkScratch = (): WatchdogVerdict => {
    const started = performance.now();
    const tree = measureTree(options.scratchDir, options.scratchBytes, options.scratchFiles);
    lastScratchCheck = performance.now();
    scratchCheckCost = lastScratchCheck - started;
    if (tree.bytes > options.scratchBytes) {
      return `the scratch directory grew past its ${formatBytes(options.scratchBytes)} limit (delete files in /scratch to make room)`;
    }
    if (tree.entries > options.scratchFiles) {
      return `the scratch directory grew past its limit of ${options.scratchFiles} files (delete files in /scratch to make room)`;
    }
    return undefined;
  };
  const checkMemory = (): WatchdogVerdict => {
    namespace ??= sandboxPidNamespace(options.bwrapPid);
    if (!namespace) return undefined;
    const resident = residentBytesIn(namespace);
    return resident > options.totalMemoryBytes
      ? `its processes together used more than ${formatBytes(options.totalMemoryBytes)} of memory`
      : undefined;
  };
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(pendingCheck);
    watcher?.close();
  };
  const report = (verdict: WatchdogVerdict) => {
    if (!verdict || stopped) return;
    stop();
    options.onLimit(verdict);
  };
  const timer = setInterval(() => {
    if (!stopped) report(checkScratch() ?? checkMemory());
  }, options.intervalMs ?? 200);
  const onScratchChange = () => {
    if (stopped || pendingCheck) return;
    const wait = Math.max(0, lastScratchCheck + Math.max(5, 2 * scratchCheckCost) - performance.now());
    pendingCheck = setTimeout(() => {
      pendingCheck = undefined;
      if (!stopped) report(checkScratch());
    }, wait);
  };
  try {
    // Symlinks under scratch are not followed: the watch stays inside the tree the sandbox can write.
    watcher = watch(options.scratchDir, { recursive: true }, onScratchChange);
    watcher.on("error", () => watcher?.close());
  } catch {
    // Out of inotify watches or instances: the poll alone still bounds scratch, only more loosely.
  }
  return stop;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
