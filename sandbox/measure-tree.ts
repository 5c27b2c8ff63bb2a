import { lstatSync, readdirSync } from "node:fs";

/** A directory tree's size, entry and directory counts, and the first entry the walk could not measure, if any. */
export type TreeMeasure = {
  bytes: number;
  entries: number;
  directories: number;
  unmeasurable?: string;
  /** Set when the walk did not finish within its deadline: how long it was given. */
  stalled?: string;
};

const SLASH = Buffer.from("/");

/**
 * Size and entry count of a directory tree, stopping once either passes its limit (so a million files cost
 * no more than the limit's worth of lstat calls). Symlinks are counted, never followed; a file with several
 * hard links counts its blocks once. Paths are walked as bytes, since names need not be valid UTF-8. An entry
 * that vanished between readdir and lstat is skipped; any other failure (a path past PATH_MAX, a directory
 * without read permission) is reported as `unmeasurable`, because whatever lies below it would go uncounted.
 */
export function measureTree(root: string, maxBytes: number, maxEntries: number): TreeMeasure {
  let bytes = 0;
  let entries = 0;
  let directories = 0;
  const rootBytes = Buffer.from(root);
  const pending: Buffer[] = [rootBytes];
  const linked = new Set<number>();
  const unmeasurable = (path: Buffer, error: unknown): TreeMeasure | undefined => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    const where = path.subarray(rootBytes.length + 1).toString() || ".";
    const shown = where.length > 120 ? `${where.slice(0, 60)}…${where.slice(-40)} (${where.length} characters)` : where;
    return { bytes, entries, directories, unmeasurable: `${shown}: ${code ?? String(error)}` };
  };
  while (pending.length > 0) {
    const directory = pending.pop() as Buffer;
    let names: Buffer[];
    try {
      names = readdirSync(directory, { encoding: "buffer" });
    } catch (error) {
      const problem = unmeasurable(directory, error);
      if (problem) return problem;
      continue;
    }
    for (const name of names) {
      entries += 1;
      const path = Buffer.concat([directory, SLASH, name]);
      try {
        const stat = lstatSync(path);
        // Allocated blocks, so sparse files count for what they really hold on disk.
        if (stat.nlink <= 1 || stat.isDirectory() || !linked.has(stat.ino)) bytes += Math.max(stat.blocks * 512, 0);
        if (stat.nlink > 1 && !stat.isDirectory()) linked.add(stat.ino);
        if (stat.isDirectory()) {
          directories += 1;
          pending.push(path);
        }
      } catch (error) {
        const problem = unmeasurable(path, error);
        if (problem) return problem;
      }
      if (bytes > maxBytes || entries > maxEntries) return { bytes, entries, directories };
    }
  }
  return { bytes, entries, directories };
}

type Request = { id: number; root: string; maxBytes: number; maxEntries: number };
type Waiter = { request: Request; worker: Worker; resolve(measure: TreeMeasure): void; deadline: ReturnType<typeof setTimeout> };

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
    abandon(started, ({ root, maxBytes, maxEntries }) => measureTree(root, maxBytes, maxEntries));
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
export function measureTreeOffThread(root: string, maxBytes: number, maxEntries: number): Promise<TreeMeasure> {
  const request = { id: nextId++, root, maxBytes, maxEntries };
  try {
    worker ??= startWorker();
  } catch {
    return Promise.resolve(measureTree(root, maxBytes, maxEntries));
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
