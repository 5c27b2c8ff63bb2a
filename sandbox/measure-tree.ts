import { errorCode } from "../concurrency/error-code.ts";
import { lstatSync, readdirSync } from "node:fs";

/** A directory tree's size, entry and directory counts, and the first entry the walk could not measure, if any. */
export type TreeMeasure = {
  bytes: number;
  entries: number;
  directories: number;
  unmeasurable?: string;
  /** Set when the walk did not finish within its deadline: how long it was given. */
  stalled?: string;
  /** With `reuseListings`: how many directories the walk had to read, the others being unchanged. */
  directoriesRead?: number;
};

const SLASH = Buffer.from("/");

/** What a walk read of one directory: its names, trusted again only while its inode and ctime are unchanged. */
type Listing = DirectoryStamp & { names: Buffer[] };
type DirectoryStamp = { dev: bigint; ino: bigint; ctimeNs: bigint };

/** Listings kept per root for walks with `reuseListings`, the most recently walked roots last. */
const listingsByRoot = new Map<string, Map<string, Listing>>();
const REMEMBERED_ROOTS = 8;

/**
 * Whether a directory whose ctime is `ctimeNs` can be listed once and trusted while the ctime stays the same.
 * Every change to a directory sets its ctime to the kernel's clock, which no unprivileged process can set or
 * wind back; a change made after `readAtMs` therefore shows as a new ctime, unless the old one was taken in
 * the same tick of a coarse clock. Waiting until the ctime lies a margin in the past rules that out: 50 ms for
 * nanosecond timestamps (a kernel tick is 10 ms at most), 2 s where they are whole seconds (ext4 with small
 * inodes, FAT).
 */
export function listingSettled(ctimeNs: bigint, readAtMs: number): boolean {
  const marginMs = ctimeNs % 1_000_000_000n === 0n ? 2000 : 50;
  return ctimeNs < BigInt(Math.floor(readAtMs - marginMs)) * 1_000_000n;
}

/** Listings kept per root for walks with `reuseListings`: the previous walk's, and this walk's as it reads them. */
function listingsFor(root: string, reuseListings: boolean): { previous: Map<string, Listing> | undefined; listings: Map<string, Listing> } {
  const listings = new Map<string, Listing>();
  if (!reuseListings) return { previous: undefined, listings };
  const previous = listingsByRoot.get(root);
  listingsByRoot.delete(root);
  listingsByRoot.set(root, listings);
  for (const stale of [...listingsByRoot.keys()].slice(0, -REMEMBERED_ROOTS)) listingsByRoot.delete(stale);
  return { previous, listings };
}

/** Where a walk failed, as the root-relative path (shortened past 120 characters) and the error's code. */
export function unmeasurableEntry(rootBytes: Buffer, path: Buffer, error: unknown): string | undefined {
  const code = errorCode(error);
  if (code === "ENOENT" || code === "ENOTDIR") return undefined;
  const where = path.subarray(rootBytes.length + 1).toString() || ".";
  const shown = where.length > 120 ? `${where.slice(0, 60)}…${where.slice(-40)} (${where.length} characters)` : where;
  return `${shown}: ${code ?? String(error)}`;
}

/** One walk's running counts, and how it reads a directory: from the last walk's listing while it is unchanged. */
class TreeWalk {
  bytes = 0;
  entries = 0;
  directories = 0;
  directoriesRead = 0;
  readonly #linked = new Set<bigint>();

  constructor(
    readonly reuseListings: boolean,
    readonly previous: Map<string, Listing> | undefined,
    readonly listings: Map<string, Listing>,
  ) {}

  measured(): TreeMeasure {
    const { bytes, entries, directories, directoriesRead } = this;
    return this.reuseListings ? { bytes, entries, directories, directoriesRead } : { bytes, entries, directories };
  }

  list(directory: Buffer, stat: DirectoryStamp | undefined): Buffer[] {
    const key = directory.toString("latin1");
    const known = this.previous?.get(key);
    if (stat && known && known.dev === stat.dev && known.ino === stat.ino && known.ctimeNs === stat.ctimeNs) {
      this.listings.set(key, known);
      return known.names;
    }
    const readAtMs = Date.now();
    const names = readdirSync(directory, { encoding: "buffer" });
    this.directoriesRead += 1;
    if (this.reuseListings && stat && listingSettled(stat.ctimeNs, readAtMs)) {
      this.listings.set(key, { dev: stat.dev, ino: stat.ino, ctimeNs: stat.ctimeNs, names });
    }
    return names;
  }

  /** Counts one entry; returns its stamp when it is a directory to walk into. */
  count(path: Buffer): DirectoryStamp | undefined {
    this.entries += 1;
    const stat = lstatSync(path, { bigint: true });
    // Allocated blocks, so sparse files count for what they really hold on disk.
    if (stat.nlink <= 1n || stat.isDirectory() || !this.#linked.has(stat.ino)) this.bytes += Math.max(Number(stat.blocks) * 512, 0);
    if (stat.nlink > 1n && !stat.isDirectory()) this.#linked.add(stat.ino);
    if (!stat.isDirectory()) return undefined;
    this.directories += 1;
    return stat;
  }
}

/** The root's stamp, for a walk that may reuse its listing; a failure is left to the walk to report. */
function rootStamp(rootBytes: Buffer, reuseListings: boolean): DirectoryStamp | undefined {
  if (!reuseListings) return undefined;
  try {
    return lstatSync(rootBytes, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Size and entry count of a directory tree, stopping once either passes its limit (so a million files cost
 * no more than the limit's worth of lstat calls). Symlinks are counted, never followed; a file with several
 * hard links counts its blocks once. Paths are walked as bytes, since names need not be valid UTF-8. An entry
 * that vanished between readdir and lstat is skipped; any other failure (a path past PATH_MAX, a directory
 * without read permission) is reported as `unmeasurable`, because whatever lies below it would go uncounted.
 *
 * With `reuseListings`, a directory unchanged since the last such walk of the same root is not read again:
 * its names are taken from that walk and only lstat'ed. Re-measuring a scratch full of quiet directories
 * then costs a third as much, which is what keeps a watchdog's walks close behind a fast writer.
 */
export function measureTree(root: string, maxBytes: number, maxEntries: number, options: { reuseListings?: boolean } = {}): TreeMeasure {
  const reuseListings = options.reuseListings ?? false;
  const { previous, listings } = listingsFor(root, reuseListings);
  const walk = new TreeWalk(reuseListings, previous, listings);
  const rootBytes = Buffer.from(root);
  const pending: { path: Buffer; stat: DirectoryStamp | undefined }[] = [{ path: rootBytes, stat: rootStamp(rootBytes, reuseListings) }];
  for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
    let names: Buffer[];
    try {
      names = walk.list(directory.path, directory.stat);
    } catch (error) {
      const unmeasurable = unmeasurableEntry(rootBytes, directory.path, error);
      if (unmeasurable) return { ...walk.measured(), unmeasurable };
      continue;
    }
    for (const name of names) {
      const path = Buffer.concat([directory.path, SLASH, name]);
      try {
        const stat = walk.count(path);
        if (stat) pending.push({ path, stat });
      } catch (error) {
        const unmeasurable = unmeasurableEntry(rootBytes, path, error);
        if (unmeasurable) return { ...walk.measured(), unmeasurable };
      }
      if (walk.bytes > maxBytes || walk.entries > maxEntries) return walk.measured();
    }
  }
  return walk.measured();
}

type Request = { id: number; root: string; maxBytes: number; maxEntries: number; reuseListings: boolean };
type Waiter = { request: Request; worker: Worker; resolve(measure: TreeMeasure): void; deadline: ReturnType<typeof setTimeout> };

/** Until its worker has started, measureTreeOffThread walks a tree of at most this many entries on the calling thread. */
export const INLINE_WALK_ENTRIES = 256;

/** A walk still running after this long is taken as stuck (a hung filesystem, a starved machine). */
export const WALK_DEADLINE_MS = 30_000;

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, Waiter>();
// Workers this module ended itself: their close event is no failure.
const ended = new WeakSet<Worker>();

function settle(id: number, measure: TreeMeasure): void {
  const waiter = waiting.get(id);
  if (!waiter) return;
  waiting.delete(id);
  clearTimeout(waiter.deadline);
  waiter.resolve(measure);
}

/** Drops a worker that failed, stopped or stalled; whoever waited on it gets `answer` for their request. */
function abandon(broken: Worker, answer: (request: Request) => TreeMeasure): void {
  if (worker === broken) worker = undefined;
  if (!ended.has(broken)) {
    ended.add(broken);
    broken.terminate();
  }
  for (const [id, waiter] of [...waiting]) if (waiter.worker === broken) settle(id, answer(waiter.request));
}

function startWorker(): Worker {
  const started = new Worker(new URL("./measure-tree-worker.ts", import.meta.url).href);
  started.unref();
  started.addEventListener("message", (event: MessageEvent<{ id: number; measure: TreeMeasure }>) => {
    settle(event.data.id, event.data.measure);
  });
  // A thrown error or an exit must not leave a watchdog waiting forever: measure on the calling thread.
  const fallBack = () => {
    if (ended.has(started)) return;
    abandon(started, ({ root, maxBytes, maxEntries, reuseListings }) => measureTree(root, maxBytes, maxEntries, { reuseListings }));
  };
  started.addEventListener("error", fallBack);
  started.addEventListener("close", fallBack);
  return started;
}

/**
 * measureTree on a worker thread shared by all watchdogs, so walking a large scratch tree (20 000 entries
 * take about 200 ms) never stalls the room's event loop; on the calling thread where workers are unavailable.
 * A walk past WALK_DEADLINE_MS comes back `stalled`, so the watchdog stops the run rather than wait blind;
 * the other walks waiting on that worker come back stalled too, since it is ended with them.
 */
export function measureTreeOffThread(
  root: string,
  maxBytes: number,
  maxEntries: number,
  options: { reuseListings?: boolean; inlineEntries?: number } = {},
): Promise<TreeMeasure> {
  const reuseListings = options.reuseListings ?? false;
  // Until the worker is needed, a tree this small is walked here at once: starting the worker costs tens of
  // milliseconds on a busy machine (paid by a process's first sandboxed call), more than the walk. A larger one
  // costs at most this many lstat calls before it goes to the worker, which then takes every walk.
  const inline = Math.min(maxEntries, options.inlineEntries ?? INLINE_WALK_ENTRIES);
  if (inline > 0 && worker === undefined) {
    const small = measureTree(root, maxBytes, inline, { reuseListings });
    if (small.entries <= inline) return Promise.resolve(small);
  }
  const request: Request = { id: nextId++, root, maxBytes, maxEntries, reuseListings };
  try {
    worker ??= startWorker();
  } catch {
    return Promise.resolve(measureTree(root, maxBytes, maxEntries, { reuseListings }));
  }
  const running = worker;
  // The worker is unref'd so it never keeps org alive; the deadline timer keeps it alive while a walk runs.
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      abandon(running, () => ({ bytes: 0, entries: 0, directories: 0, stalled: `${WALK_DEADLINE_MS / 1000} s` }));
    }, WALK_DEADLINE_MS);
    waiting.set(request.id, { request, worker: running, resolve, deadline });
    running.postMessage(request);
  });
}
