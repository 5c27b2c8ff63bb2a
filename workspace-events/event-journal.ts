import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { errorCode } from "../concurrency/error-code.ts";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import { EVENTS_FILE } from "../config/workspace-paths.ts";
import { JournalHeader, WorkspaceEvent, WorkspaceEventRecord } from "./workspace-event.ts";

/** The journal's bounds: past `maxBytes` a writer keeps the newest `keep` events and raises the floor below them. */
export type JournalBounds = { maxBytes: number; keep: number };
export const JOURNAL_BOUNDS: JournalBounds = { maxBytes: 512 * 1024, keep: 1_000 };

/** How long a writer waits for the journal's lock before it gives up on this event (the lock is held for one append). */
const LOCK_WAIT_MS = 2_000;
/** A lock older than this is a stuck holder's (a stopped process): one append takes microseconds. */
const LOCK_STALE_MS = 10_000;

/** The journal of a workspace (or checkout) folder. */
export function eventJournalPath(dir: string): string {
  return join(dir, EVENTS_FILE);
}

/** What a read of the journal found: the events after `after`, whether the reader must re-read state, the lines skipped. */
export type JournalRead = {
  records: WorkspaceEventRecord[];
  /** The reader's place is gone (below the floor, or the journal started over): re-read state, then follow from `last`. */
  resync: boolean;
  floor: number;
  /** The newest sequence number in the journal (0 when it has none). */
  last: number;
  /** Lines that did not parse (a damaged or hostile journal), skipped. */
  skipped: number;
};

/** Parses journal text: the header's floor, the records in order, the lines that did not parse. Never throws. */
export function parseJournal(text: string): { floor: number; records: WorkspaceEventRecord[]; skipped: number } {
  let floor = 0;
  let skipped = 0;
  const records: WorkspaceEventRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped += 1;
      continue;
    }
    const record = WorkspaceEventRecord.safeParse(value);
    if (record.success) {
      records.push(record.data);
      continue;
    }
    const header = JournalHeader.safeParse(value);
    if (header.success && records.length === 0) floor = header.data.floor;
    else skipped += 1;
  }
  return { floor, records, skipped };
}

/** Reads the journal in `dir` after sequence number `after`. A missing journal is an empty one. */
export function readWorkspaceEvents(dir: string, after: number): JournalRead {
  const { floor, records, skipped } = readJournal(eventJournalPath(dir));
  const last = newestSeq(records, floor);
  return { records: records.filter((record) => record.seq > after), resync: after < floor || after > last, floor, last, skipped };
}

/** The most of the journal a reader or writer takes in one read: a bigger one (a hostile one) is read from its end. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * Opens `path` for reading without following a link and without blocking on a FIFO; undefined when it is missing or
 * is not a regular file (a FIFO, folder or link a model planted holds no events).
 */
export function openRegularFile(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (["ENOENT", "ELOOP", "ENXIO", "EISDIR"].includes(errorCode(error) ?? "")) return undefined;
    throw error;
  }
  if (fstatSync(fd).isFile()) return fd;
  closeSync(fd);
  return undefined;
}

/** The text of `path` from `from`, at most its last MAX_READ_BYTES (from the first whole line in them); cut says so. */
function readTail(path: string, from = 0): { text: string; cut: boolean } {
  const fd = openRegularFile(path);
  if (fd === undefined) return { text: "", cut: false };
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - MAX_READ_BYTES);
    if (size <= start) return { text: "", cut: false };
    const buffer = Buffer.alloc(size - start);
    const read = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, start));
    if (start === from) return { text: read.toString("utf8"), cut: false };
    return { text: read.subarray(read.indexOf(10) + 1).toString("utf8"), cut: true };
  } finally {
    closeSync(fd);
  }
}

function readText(path: string, from = 0): string {
  return readTail(path, from).text;
}

/** The journal parsed from at most its last MAX_READ_BYTES; when its header was cut off, the floor is below its first record. */
function readJournal(path: string): ReturnType<typeof parseJournal> {
  const { text, cut } = readTail(path);
  const parsed = parseJournal(text);
  return cut ? { ...parsed, floor: Math.max(0, (parsed.records[0]?.seq ?? 1) - 1) } : parsed;
}

/** Why an event was not published: the lock stayed busy, or the journal could not be written. The change itself stands. */
export type PublishResult = { published: true; seq: number } | { published: false; reason: string };

/**
 * Appends `event` to the journal in `dir` (`.org/events.jsonl`) under the journal's lock, with the next sequence
 * number; rotates the journal past its bounds. Never throws: a change is not undone because its event could not be
 * told; a reader sees the change when it next reads state.
 */
export function publishWorkspaceEvent(dir: string, event: WorkspaceEvent, bounds: JournalBounds = JOURNAL_BOUNDS): PublishResult {
  try {
    const parsed = WorkspaceEvent.parse(event);
    const path = eventJournalPath(dir);
    mkdirSync(dirname(path), { recursive: true });
    // A workspace's `.org` that is a link (a hostile checkout's) leads elsewhere: nothing is written through it.
    if (!lstatSync(dirname(path)).isDirectory()) return { published: false, reason: `${dirname(path)} is not a folder (a link?)` };
    const found = lstatSync(path, { throwIfNoEntry: false });
    if (found && !found.isFile()) return { published: false, reason: `${path} is not a regular file: remove it, and events are told again` };
    const release = takeJournalLock(`${path}.lock`);
    if (!release) return { published: false, reason: `the journal's lock ${path}.lock stayed busy for ${LOCK_WAIT_MS} ms` };
    try {
      const { size, last, torn } = journalEnd(path);
      const seq = last + 1;
      // After half a line (a writer killed mid-write, or planted) the event starts a line of its own.
      const line = `${torn ? "\n" : ""}${JSON.stringify({ seq, at: new Date().toISOString(), event: parsed })}\n`;
      if (size + line.length > bounds.maxBytes) {
        const { records } = readJournal(path);
        rotate(path, [...records.slice(-Math.max(1, bounds.keep - 1)), WorkspaceEventRecord.parse(JSON.parse(line.trim()))]);
      } else append(path, size === 0 ? `${JSON.stringify({ floor: 0 })}\n${line}` : line);
      return { published: true, seq };
    } finally {
      release();
    }
  } catch (error) {
    return { published: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** How much of the journal's end a writer reads for the last sequence number; the whole file when no record is there. */
const TAIL_BYTES = 4096;

/** The journal's size, its newest sequence number (the floor when it holds no record), read from its end, and whether it ends in half a line. */
function journalEnd(path: string): { size: number; last: number; torn: boolean } {
  let size = 0;
  try {
    size = lstatSync(path).size;
  } catch {
    return { size: 0, last: 0, torn: false };
  }
  const tail = readText(path, Math.max(0, size - TAIL_BYTES));
  const torn = tail !== "" && !tail.endsWith("\n");
  const { records } = parseJournal(tail);
  if (records.length > 0 && size > TAIL_BYTES) return { size, last: newestSeq(records, 0), torn };
  const whole = readJournal(path);
  return { size, last: newestSeq(whole.records, whole.floor), torn };
}

/** The highest of `floor` and the records' sequence numbers: lines out of order (planted) never make one be reused. */
export function newestSeq(records: readonly WorkspaceEventRecord[], floor: number): number {
  return records.reduce((most, record) => Math.max(most, record.seq), floor);
}

function append(path: string, text: string): void {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const fd = openSync(path, flags, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Keeps `kept` under a header whose floor is the sequence number just below them; a reader behind it re-reads state. */
function rotate(path: string, kept: WorkspaceEventRecord[]): void {
  const floor = (kept[0]?.seq ?? 1) - 1;
  const next = `${path}.next-${process.pid}`;
  rmSync(next, { force: true, recursive: true });
  const lines = [JSON.stringify({ floor }), ...kept.map((record) => JSON.stringify(record))];
  append(next, `${lines.join("\n")}\n`);
  renameSync(next, path);
}

/** Takes the journal's lock (O_EXCL, naming this process), waiting up to LOCK_WAIT_MS; undefined when it stayed busy. */
function takeJournalLock(path: string): (() => void) | undefined {
  const deadline = Date.now() + LOCK_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; Date.now() < deadline; attempt += 1) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      // The shape of security/pid-lock.ts's lock files, so that `org supervise` names a dead holder of this one too.
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString(), command: "publish a workspace event" }));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    if (lockIsStale(path)) {
      // Moved aside under a name of our own: of two takers only one moves it.
      const aside = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, aside);
        rmSync(aside, { force: true, recursive: true });
      } catch {}
      continue;
    }
    Atomics.wait(pause, 0, 0, Math.min(1 + attempt, 10));
  }
  return undefined;
}

function lockHolderPid(text: string): number {
  try {
    const value: unknown = JSON.parse(text);
    const pid = typeof value === "object" && value !== null && "pid" in value ? value.pid : undefined;
    return typeof pid === "number" ? pid : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function lockIsStale(path: string): boolean {
  try {
    const pid = lockHolderPid(readText(path));
    const age = Date.now() - lstatSync(path).mtimeMs;
    // One dated ahead of now (a clock set back, or planted) would never grow old: it is no live append's.
    if (age > LOCK_STALE_MS || age < -LOCK_STALE_MS) return true;
    // A holder killed between its create and its write leaves an empty file; it is stale once it is not brand new.
    if (!Number.isSafeInteger(pid) || pid <= 0) return age > 500;
    return pid !== process.pid && !isProcessAlive(pid);
  } catch {
    return false;
  }
}
