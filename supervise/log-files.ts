import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { processesHolding } from "../concurrency/open-files.ts";
import { AUDIT_DIR, GROW_DIR, ORG_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { readGrowState } from "../grow/grow-state.ts";
import { ensurePrivateDir, openPrivateFile } from "../security/private-state.ts";

/** Where rotated transcripts and audit days go, gzipped: `.org/archive/sessions/`, `.org/archive/audit/`. */
export const ARCHIVE_DIR = join(ORG_DIR, "archive");

/** A transcript or an audit day: the files org appends to for ever. */
export type LogFile = { root: string; kind: "sessions" | "audit"; key: string; path: string; bytes: number; mtimeMs: number };

const SESSION_FILE = /^([A-Za-z0-9][\w.-]{0,127})\.jsonl$/;
const AUDIT_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

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
        const key = pattern.exec(name)?.[1];
        const stat = key === undefined ? undefined : lstatSync(join(root, dir, name), { throwIfNoEntry: false });
        if (key !== undefined && stat?.isFile()) found.push({ root, kind, key, path: join(root, dir, name), bytes: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
  }
  return found;
}

/**
 * Why a log file must stay where it is, or undefined when it may be rotated: it is today's audit day (still written),
 * some process holds it open (a room appending to its transcript), or `org grow` has not read it to its end yet.
 */
export function whyKept(file: LogFile, now: number, holders: Map<string, number[]>): string | undefined {
  if (file.kind === "audit" && file.key >= new Date(now).toISOString().slice(0, 10)) return "it is today's audit log";
  const pids = holders.get(file.path);
  if (pids) return `pid ${pids.join(", ")} has it open`;
  if (!lstatSync(join(file.root, GROW_DIR, "proposals.json"), { throwIfNoEntry: false })) return undefined;
  try {
    const cursor = readGrowState(file.root).cursor;
    const mark = file.kind === "sessions" ? cursor.sessions[file.key] : cursor.audit[file.key];
    return mark && mark.offset >= file.bytes ? undefined : "org grow has not read it to its end yet";
  } catch {
    return "org grow's state cannot be read, so whether it read the file is not known";
  }
}

/** Which of `files` may be rotated now, each with why not when it may not. */
export function rotationPlan(files: readonly LogFile[], now: number): { file: LogFile; kept?: string }[] {
  const holders = processesHolding(files.map((file) => file.path));
  return files.map((file) => {
    const kept = whyKept(file, now, holders);
    return kept === undefined ? { file } : { file, kept };
  });
}

/**
 * Rotates one log file: its bytes gzipped into `.org/archive/<kind>/<name>.gz` (written beside, then renamed; a second
 * rotation of the same name gets the time), then the file removed. Returns the bytes freed.
 */
export function archiveLog(file: LogFile, now: number): number {
  const dir = ensurePrivateDir(join(file.root, ARCHIVE_DIR, file.kind));
  const fd = openSync(file.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
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
  const name = basename(file.path);
  const taken = lstatSync(join(dir, `${name}.gz`), { throwIfNoEntry: false });
  const target = join(dir, taken ? `${name}.${new Date(now).toISOString().replace(/[:.]/g, "")}.gz` : `${name}.gz`);
  const partial = `${target}.${process.pid}.partial`;
  const out = openPrivateFile(partial, constants.O_WRONLY | constants.O_EXCL);
  try {
    const gzipped = gzipSync(bytes);
    for (let at = 0; at < gzipped.length; ) at += writeSync(out, gzipped, at);
  } finally {
    closeSync(out);
  }
  renameSync(partial, target);
  rmSync(file.path, { force: true });
  return file.bytes - (lstatSync(target)?.size ?? 0);
}
