import { closeSync, fstatSync, readSync } from "node:fs";
import { eventJournalPath, newestSeq, openRegularFile, parseJournal, readWorkspaceEvents } from "./event-journal.ts";
import { JournalWatch } from "./journal-watch.ts";
import type { WorkspaceEventRecord } from "./workspace-event.ts";

/** The most a reader takes of the journal in one read; a journal grown past it (a hostile one) is read in steps. */
const READ_STEP_BYTES = 1024 * 1024;
/** How often a follower looks at the journal's size where its folder cannot be watched, or its watch failed. */
export const RECHECK_MS = 2_000;

export type FollowOptions = {
  /** The sequence number the reader has seen: later events are delivered, even those written before it followed. Absent: from now. */
  after?: number;
  /** Each batch of new events, in order. */
  onEvents: (records: WorkspaceEventRecord[]) => void;
  /** The reader's place is gone (rotated away, or the journal started over): re-read state; events follow from `last`. */
  onResync?: (last: number) => void;
  /** Lines that did not parse, skipped (a damaged or hostile journal). */
  onSkipped?: (count: number) => void;
  signal?: AbortSignal;
  /** The interval of the look that stands in for a watch that could not be set up or failed (never used while one holds). */
  recheckMs?: number;
};

/** A journal followed: the newest sequence number delivered, and how to stop. */
export type EventFollower = { readonly last: number; check(): void; stop(): void };

/**
 * Follows the event journal of `dir` (`.org/events.jsonl`) across processes, told by inotify (`JournalWatch`: the
 * workspace's folder for `.org` made or replaced, `.org` for the journal written or rotated), with no timer; only
 * where no watch can be set up or trusted does it look every `recheckMs`. Only what was appended since the last read
 * is read; a rotated journal (a new file) is read from its start, and a reader behind its floor is told to re-read
 * state. Never throws from a watch: a journal that cannot be read is read again at the next change. It makes nothing.
 */
export function followWorkspaceEvents(dir: string, options: FollowOptions): EventFollower {
  const path = eventJournalPath(dir);
  const start = readWorkspaceEvents(dir, options.after ?? Number.MAX_SAFE_INTEGER);
  let last = options.after === undefined ? start.last : options.after;
  // The first look reads the file whole and keeps what is after `last`: nothing appended since the read above is lost.
  let place = { ino: -1, offset: 0 };
  let stopped = false;
  if (options.after !== undefined) {
    if (start.skipped > 0) options.onSkipped?.(start.skipped);
    if (start.resync) options.onResync?.(start.last);
    if (start.records.length > 0) options.onEvents(start.records);
    last = start.resync ? start.last : newestSeq(start.records, last);
  }

  const check = () => {
    if (stopped) return;
    try {
      for (let step = 0; step < 64; step += 1) {
        const read = readFrom(path, place);
        if (!read) return;
        place = read.place;
        const { floor, records, skipped } = parseJournal(read.text);
        if (skipped > 0) options.onSkipped?.(skipped);
        if (read.restarted && (last < floor || last > newestSeq(records, floor))) {
          last = newestSeq(records, floor);
          options.onResync?.(last);
          continue;
        }
        const fresh = records.filter((record) => record.seq > last);
        if (fresh.length > 0) {
          last = newestSeq(fresh, last);
          options.onEvents(fresh);
        }
        if (!read.more) return;
      }
    } catch {
      // Read again at the next change (or look).
    }
  };

  const watching = new JournalWatch(dir, check, options.recheckMs ?? RECHECK_MS);
  const stop = () => {
    stopped = true;
    watching.stop();
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  return {
    get last() {
      return last;
    },
    check,
    stop,
  };
}

/**
 * What was appended since `place`, up to the last whole line; the whole file when it is a new one (rotated, or made
 * since) or shorter than the place. Undefined when there is nothing new.
 */
function readFrom(
  path: string,
  place: { ino: number; offset: number },
): { text: string; place: { ino: number; offset: number }; restarted: boolean; more: boolean } | undefined {
  let fd: number | undefined;
  try {
    fd = openRegularFile(path);
  } catch {
    return undefined;
  }
  if (fd === undefined) return undefined;
  try {
    const found = fstatSync(fd);
    const restarted = found.ino !== place.ino || found.size < place.offset;
    const from = restarted ? 0 : place.offset;
    if (found.size <= from) return restarted ? { text: "", place: { ino: found.ino, offset: 0 }, restarted, more: false } : undefined;
    const length = Math.min(found.size - from, READ_STEP_BYTES);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, from);
    const end = buffer.subarray(0, read).lastIndexOf(10) + 1;
    // A line still being written waits for its end; one longer than a whole step is skipped as it is.
    const taken = end > 0 ? end : read === READ_STEP_BYTES ? read : 0;
    if (taken === 0 && !restarted) return undefined;
    return {
      text: buffer.subarray(0, taken).toString("utf8"),
      place: { ino: found.ino, offset: from + taken },
      restarted,
      more: from + taken < found.size && taken > 0,
    };
  } finally {
    closeSync(fd);
  }
}
