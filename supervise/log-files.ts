import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { processesHolding } from "../concurrency/open-files.ts";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import { AUDIT_DIR, GROW_DIR, ORG_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { type GrowCursor, readGrowState } from "../grow/grow-state.ts";
import { ensurePrivateDir, writeNewPrivateFile } from "../security/private-state.ts";

/** Where rotated transcripts and audit days go, gzipped: `.org/archive/sessions/`, `.org/archive/audit/`. */
export const ARCHIVE_DIR = join(ORG_DIR, "archive");

/**
 * A transcript or an audit day: the files org appends to for ever. `name` is the log's own file name (a rotation that
 * died after moving it aside left it under another, which is rotated in its turn).
 */
export type LogFile = { root: string; kind: "sessions" | "audit"; key: string; name: string; path: string; bytes: number; mtimeMs: number };

const SESSION_FILE = /^([A-Za-z0-9][\w.-]{0,127})\.jsonl(?:\.rotating-(\d+))?$/;
const AUDIT_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl(?:\.rotating-(\d+))?$/;

/** Whether a name is a log's own, or one a rotation moved aside and did not finish because it died. */
function logName(pattern: RegExp, name: string): string | undefined {
  const match = pattern.exec(name);
  if (!match?.[1]) return undefined;
  const pid = match[2] === undefined ? undefined : Number(match[2]);
  return pid === undefined || (pid !== process.pid && !isProcessAlive(pid)) ? match[1] : undefined;
}

/** The transcripts and audit days of the workspace (and of the checkout, when it is another folder). */
export function logFiles(roots: readonly string[]): LogFile[] {
  const found: LogFile[] = [];
  for (const root of [...new Set(roots)]) {
    for (const [kind, dir, pattern] of [
      ["sessions", SESSIONS_DIR, SESSION_FILE],
      ["audit", AUDIT_DIR, AUDIT_FILE],
    ] as const) {
      let names: string[];
      try {
        names = readdirSync(join(root, dir));
      } catch {
        continue;
      }
      for (const name of names) {
        const key = logName(pattern, name);
        const stat = key === undefined ? undefined : lstatSync(join(root, dir, name), { throwIfNoEntry: false });
        if (key !== undefined && stat?.isFile())
          found.push({ root, kind, key, name: `${key}.jsonl`, path: join(root, dir, name), bytes: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
  }
  return found;
}

/** The grow cursor of `root` (how far `org grow` read each log), the Error that kept it from being read, or undefined when grow keeps no state there.
 *
 */
function growCursorOf(root: string): GrowCursor | Error | undefined {
  if (!lstatSync(join(root, GROW_DIR, "proposals.json"), { throwIfNoEntry: false })) return undefined;
  try {
    return readGrowState(root).cursor;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Why a log file must stay where it is, or undefined when it may be rotated: some process holds it open (a room
 * appending to its transcript), or `org grow` has not read it to its end yet (`cursor`: its root's, `growCursorOf`).
 * Today's audit day may be rotated: its writer opens it for each line, so the next line starts a new file, and what was
 * rotated is a numbered part.
 */
export function whyKept(file: LogFile, holders: Map<string, number[]>, cursor: GrowCursor | Error | undefined): string | undefined {
  const pids = holders.get(file.path);
  if (pids) return `pid ${pids.join(", ")} has it open`;
  if (cursor === undefined) return undefined;
  if (cursor instanceof Error) return "org grow's state cannot be read, so whether it read the file is not known";
  const mark = file.kind === "sessions" ? cursor.sessions[file.key] : cursor.audit[file.key];
  return mark && mark.offset >= file.bytes ? undefined : "org grow has not read it to its end yet";
}

/** Which of `files` may be rotated now, each with why not when it may not; grow's state is read once per root. */
export function rotationPlan(files: readonly LogFile[]): { file: LogFile; kept?: string }[] {
  const holders = processesHolding(files.map((file) => file.path));
  const cursors = new Map<string, GrowCursor | Error | undefined>();
  return files.map((file) => {
    if (!cursors.has(file.root)) cursors.set(file.root, growCursorOf(file.root));
    const kept = whyKept(file, holders, cursors.get(file.root));
    return kept === undefined ? { file } : { file, kept };
  });
}

/** The archive's names for a rotated file, the first free one taken: `<name>.gz`, then `<name>.2.gz`, `<name>.3.gz`… */
function* archiveNames(dir: string, name: string): Generator<string> {
  for (let part = 1; ; part += 1) yield join(dir, part === 1 ? `${name}.gz` : `${name}.${part}.gz`);
}

/** How long a rotation waits for a writer caught in the middle of a line to let the moved file go. */
const WRITER_WAIT_MS = 2_000;

/**
 * Moves a log file aside before it is read, so a line appended meanwhile goes to a new file (the audit log's writer
 * opens the file for each line) rather than being lost, and waits (bounded) for a writer that had it open to let go.
 * Returns the moved file's path; put back when it stays held.
 */
function moveAside(file: LogFile): string {
  const moved = `${file.path}.rotating-${process.pid}`;
  renameSync(file.path, moved);
  const deadline = Date.now() + WRITER_WAIT_MS;
  for (let held = processesHolding([moved]).get(moved); held; held = processesHolding([moved]).get(moved)) {
    if (Date.now() > deadline) {
      if (!lstatSync(file.path, { throwIfNoEntry: false })) renameSync(moved, file.path);
      throw new Error(`${file.path} is held open by pid ${held.join(", ")}; not rotated`);
    }
    Bun.sleepSync(20);
  }
  return moved;
}

/**
 * Rotates one log file: moved aside, its bytes gzipped into `.org/archive/<kind>/<name>.gz` (a durable write; a further
 * part of the same name is numbered), then removed. Returns the bytes freed.
 */
export function archiveLog(file: LogFile): number {
  const dir = ensurePrivateDir(join(file.root, ARCHIVE_DIR, file.kind));
  const moved = moveAside(file);
  const fd = openSync(moved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let bytes: Buffer;
  try {
    const size = fstatSync(fd).size;
    bytes = Buffer.alloc(size);
    for (let at = 0; at < size; ) {
      const got = readSync(fd, bytes, at, size - at, at);
      if (got <= 0) break;
      at += got;
    }
  } finally {
    closeSync(fd);
  }
  // Durable before the moved file goes: a crash leaves the log in one place or the other.
  // node:zlib loads for a rotation only: loading it costs each round about 15 ms of CPU.
  const { gzipSync }: typeof import("node:zlib") = process.getBuiltinModule("node:zlib");
  const target = writeNewPrivateFile(archiveNames(dir, file.name), gzipSync(bytes), { durable: true });
  if (target === undefined) throw new Error(`${dir} has no free name for ${file.name}'s archive; ${moved} is kept`);
  rmSync(moved, { force: true });
  return bytes.length - (lstatSync(target)?.size ?? 0);
}
