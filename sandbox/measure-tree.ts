import { lstatSync, readdirSync } from "node:fs";

/** A directory tree's size, entry and directory counts, and the first entry the walk could not measure, if any. */
export type TreeMeasure = { bytes: number; entries: number; directories: number; unmeasurable?: string };

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

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { request: Request; resolve(measure: TreeMeasure): void }>();

function measureHere({ root, maxBytes, maxEntries }: Request): TreeMeasure {
  return measureTree(root, maxBytes, maxEntries);
}

function startWorker(): Worker {
  const started = new Worker(new URL("./measure-tree-worker.ts", import.meta.url).href);
  started.unref();
  started.addEventListener("message", (event: MessageEvent<{ id: number; measure: TreeMeasure }>) => {
    waiting.get(event.data.id)?.resolve(event.data.measure);
    waiting.delete(event.data.id);
  });
  started.addEventListener("error", () => {
    // A broken worker must not leave a watchdog waiting: measure here instead, from now on.
    worker = undefined;
    started.terminate();
    for (const [id, { request, resolve }] of waiting) {
      waiting.delete(id);
      resolve(measureHere(request));
    }
  });
  return started;
}

/**
 * measureTree on a worker thread shared by all watchdogs, so walking a large scratch tree (20 000 entries
 * take about 200 ms) never stalls the room's event loop; on the calling thread where workers are unavailable.
 */
export function measureTreeOffThread(root: string, maxBytes: number, maxEntries: number): Promise<TreeMeasure> {
  const request = { id: nextId++, root, maxBytes, maxEntries };
  try {
    worker ??= startWorker();
  } catch {
    return Promise.resolve(measureHere(request));
  }
  const running = worker;
  return new Promise((resolve) => {
    waiting.set(request.id, { request, resolve });
    running.postMessage(request);
  });
}
