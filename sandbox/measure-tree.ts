import { errorCode } from "../concurrency/error-code.ts";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";

/** A directory tree's size, entry and directory counts, and the first entry the walk could not measure, if any. */
export type TreeMeasure = {
  bytes: number;
  entries: number;
  directories: number;
  unmeasurable?: string;
  /** Set when the walk did not finish within its deadline: how long it was given. */
  stalled?: string;
  /** With listings to reuse: how many directories the walk had to read, the others being unchanged. */
  directoriesRead?: number;
};

const SLASH = Buffer.from("/");

/** What a walk read of one directory: its names, trusted again only while its inode and ctime are unchanged. */
type Listing = DirectoryStamp & { names: Buffer[] };
type DirectoryStamp = { dev: bigint; ino: bigint; ctimeNs: bigint };

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

/**
 * What walks of the same roots remember of each other: per root, the listings its last walk read, for the most
 * recently walked REMEMBERED_ROOTS roots. Each walker (a TreeMeasurer, the worker thread) holds its own.
 */
export class TreeListings {
  static readonly REMEMBERED_ROOTS = 8;
  readonly #byRoot = new Map<string, Map<string, Listing>>();

  /** The previous walk's listings of `root`, and the map this walk fills in its place. */
  begin(root: string): { previous: Map<string, Listing> | undefined; listings: Map<string, Listing> } {
    const listings = new Map<string, Listing>();
    const previous = this.#byRoot.get(root);
    this.#byRoot.delete(root);
    this.#byRoot.set(root, listings);
    for (const stale of [...this.#byRoot.keys()].slice(0, -TreeListings.REMEMBERED_ROOTS)) this.#byRoot.delete(stale);
    return { previous, listings };
  }
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
 * With `listings`, a directory unchanged since the last walk of the same root with them is not read again:
 * its names are taken from that walk and only lstat'ed. Re-measuring a scratch full of quiet directories
 * then costs a third as much, which is what keeps a watchdog's walks close behind a fast writer.
 */
export function measureTree(root: string, maxBytes: number, maxEntries: number, options: { listings?: TreeListings } = {}): TreeMeasure {
  const reuseListings = options.listings !== undefined;
  const { previous, listings } = options.listings?.begin(root) ?? { previous: undefined, listings: new Map<string, Listing>() };
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

/** Until its worker has started, a TreeMeasurer walks a tree of at most this many entries on the calling thread. */
export const INLINE_WALK_ENTRIES = 256;

/** A walk still running after this long is taken as stuck (a hung filesystem, a starved machine). */
export const WALK_DEADLINE_MS = 30_000;

/**
 * Walks of trees for the watchdogs of one Sandbox: on the calling thread while they are cheap, else on one worker
 * thread they share, so walking a large scratch tree (20 000 entries take about 200 ms) never stalls the room's event
 * loop. It remembers listings for walks that reuse them (`TreeListings`), here and in the worker.
 */
export class TreeMeasurer {
  readonly #listings = new TreeListings();
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #waiting = new Map<number, Waiter>();
  // Workers this measurer ended itself: their close event is no failure.
  readonly #ended = new WeakSet<Worker>();

  /** measureTree on the calling thread; `reuseListings` with this measurer's listings. */
  measure(root: string, maxBytes: number, maxEntries: number, options: { reuseListings?: boolean } = {}): TreeMeasure {
    return measureTree(root, maxBytes, maxEntries, options.reuseListings ? { listings: this.#listings } : {});
  }

  /**
   * measureTree on the worker thread; on the calling thread where workers are unavailable. A walk past
   * WALK_DEADLINE_MS comes back `stalled`, so the watchdog stops the run rather than wait blind; the other walks
   * waiting on that worker come back stalled too, since it is ended with them.
   */
  offThread(
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
    if (inline > 0 && this.#worker === undefined) {
      const small = this.measure(root, maxBytes, inline, { reuseListings });
      if (small.entries <= inline) return Promise.resolve(small);
    }
    const request: Request = { id: this.#nextId++, root, maxBytes, maxEntries, reuseListings };
    let running: Worker;
    try {
      running = this.#worker ??= this.#startWorker();
    } catch {
      return Promise.resolve(this.measure(root, maxBytes, maxEntries, { reuseListings }));
    }
    // The worker is unref'd so it never keeps org alive; the deadline timer keeps it alive while a walk runs.
    return new Promise((resolve) => {
      const deadline = setTimeout(() => {
        this.#abandon(running, () => ({ bytes: 0, entries: 0, directories: 0, stalled: `${WALK_DEADLINE_MS / 1000} s` }));
      }, WALK_DEADLINE_MS);
      this.#waiting.set(request.id, { request, worker: running, resolve, deadline });
      running.postMessage(request);
    });
  }

  #settle(id: number, measure: TreeMeasure): void {
    const waiter = this.#waiting.get(id);
    if (!waiter) return;
    this.#waiting.delete(id);
    clearTimeout(waiter.deadline);
    waiter.resolve(measure);
  }

  /** Drops a worker that failed, stopped or stalled; whoever waited on it gets `answer` for their request. */
  #abandon(broken: Worker, answer: (request: Request) => TreeMeasure): void {
    if (this.#worker === broken) this.#worker = undefined;
    if (!this.#ended.has(broken)) {
      this.#ended.add(broken);
      broken.terminate();
    }
    for (const [id, waiter] of [...this.#waiting]) if (waiter.worker === broken) this.#settle(id, answer(waiter.request));
  }

  #startWorker(): Worker {
    const started = new Worker(join(CHECKOUT_DIR, "sandbox", "measure-tree-worker.ts"));
    started.unref();
    started.addEventListener("message", (event: MessageEvent<{ id: number; measure: TreeMeasure }>) => {
      this.#settle(event.data.id, event.data.measure);
    });
    // A thrown error or an exit must not leave a watchdog waiting forever: measure on the calling thread.
    const fallBack = () => {
      if (this.#ended.has(started)) return;
      this.#abandon(started, ({ root, maxBytes, maxEntries, reuseListings }) => this.measure(root, maxBytes, maxEntries, { reuseListings }));
    };
    started.addEventListener("error", fallBack);
    started.addEventListener("close", fallBack);
    return started;
  }
}
