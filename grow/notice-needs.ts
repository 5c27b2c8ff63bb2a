// Noticing: what happened in a workspace since grow last looked. The transcripts (`.org/sessions/*.jsonl`), the
// audit log (`.org/audit/<day>.jsonl`: tool calls made outside any transcript, such as serve's `/v1/tools`), and
// serve's finished jobs whose session left no transcript. Each source is read from the cursor on, bounded per run
// (the rest waits for the next), without following links, and parsed by its owner's reader (the room's
// `readSealedTranscriptEvents`, the audit log's `readSealedAuditLines`, serve's `finishedJobs`); a line that is not
// theirs is passed over, and one org did not write here (its seal under the user's key missing or broken) is not heard
// as anyone's words: the report names its file (`read.unheard`).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { AUDIT_DIR, SESSIONS_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { readSealedTranscriptEvents } from "../room/transcript.ts";
import { type AuditEntry, auditDayFiles, readSealedAuditLines } from "../security/audit-log.ts";
import { finishedJobs } from "../serve/finished-jobs.ts";
import { SERVE_STATE_DIR } from "../serve/jobs-log.ts";
import { type GrowCursor, MAX_JOB_IDS } from "./grow-state.ts";
import { missingToolGoal, QUOTE_CHARS } from "./need-signals.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { type FileMark, readAppendedLines } from "./read-appended.ts";
import { hearRoomEvents, type Need, type RoomHearing, type ToolKindOf, validTime } from "./room-needs.ts";
import { safeGoal } from "./safe-goal.ts";

/** Bytes read from one file in one run; the rest is read by the next. */
const FILE_BYTES_PER_RUN = 8 * 1024 * 1024;
/** Bytes read from all sources in one run. */
const RUN_BYTES = 64 * 1024 * 1024;
/** Job results looked at per run. */
const JOBS_PER_RUN = 2_000;

const SESSION_FILE = /^([A-Za-z0-9][\w.-]{0,127})\.jsonl$/;

/** What one look found (the rules' needs, and the turns as said, for the model), and the cursor to keep once they are kept. */
export type Noticed = RoomHearing & {
  cursor: GrowCursor;
  /** Sources read, for the report; `unheard`: the files whose lines org did not write here (unsealed), not heard. */
  read: { sessions: number; auditDays: number; jobs: number; bytes: number; skippedLines: number; unheard: Unheard[] };
  /** Whether a source holds more than this run read (the next run goes on). */
  more: boolean;
};

function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

/** A file (relative to the workspace) of which `lines` lines (or results) were not heard: org did not write them here. */
export type Unheard = { file: string; lines: number };

/** What the room knows by this name: its built-ins and own tools, and the promoted generated tools given. */
export function toolKinds(generated: Iterable<string>): ToolKindOf {
  const promoted = new Set(generated);
  const builtIn = new Set(RESERVED_TOOL_NAMES);
  return (name) => (builtIn.has(name) ? "built-in" : promoted.has(name) ? "promoted" : undefined);
}

const PLAIN = /^[\w.:-]{1,128}$/;
const plain = (text: string | undefined, fallback: string) => (text !== undefined && PLAIN.test(text) ? text : fallback);

/**
 * Where a look stops (a second look, after the model could not hear everything the first read): each transcript at a
 * byte offset (a line's start), and serve's jobs before one job.
 */
export type NoticeBounds = { sessions: ReadonlyMap<string, number>; job?: string };

/** What one look shares across its sources: the cursor it moves, what it hears, the bytes it may still read. */
type Look = {
  until?: NoticeBounds;
  workspaceDir: string;
  /** The user's org folder, whose key proves which lines org wrote here. */
  home: string | undefined;
  kindOf: ToolKindOf;
  now: string;
  cursor: GrowCursor;
  hearing: RoomHearing;
  read: Noticed["read"];
  more: boolean;
  /** The sessions that have a transcript: a call or job of one is read there, with its words. */
  transcripts: Set<string>;
};

const budgetLeft = (look: Look) => RUN_BYTES - look.read.bytes;

/**
 * Reads what the workspace's sources gained since `cursor` and finds the needs in it. Reads only; the caller keeps
 * the returned cursor together with what it made of the needs.
 */
export function noticeNeeds(options: {
  workspaceDir: string;
  cursor: GrowCursor;
  kindOf: ToolKindOf;
  now?: Date;
  until?: NoticeBounds;
  home?: string | undefined;
}): Noticed {
  const look: Look = {
    ...(options.until ? { until: options.until } : {}),
    workspaceDir: options.workspaceDir,
    home: "home" in options ? options.home : userOrgDir(),
    kindOf: options.kindOf,
    now: (options.now ?? new Date()).toISOString(),
    cursor: structuredClone(options.cursor),
    hearing: { needs: [], turns: [] },
    read: { sessions: 0, auditDays: 0, jobs: 0, bytes: 0, skippedLines: 0, unheard: [] },
    more: false,
    transcripts: new Set(),
  };
  readTranscripts(look);
  readAuditLog(look);
  readJobs(look);
  // A transcript or audit day deleted since: its place in the cursor goes too.
  for (const session of Object.keys(look.cursor.sessions)) if (!look.transcripts.has(session)) delete look.cursor.sessions[session];
  const days = new Set(auditDayFiles(join(look.workspaceDir, AUDIT_DIR)).map((file) => file.day));
  for (const day of Object.keys(look.cursor.audit)) if (!days.has(day)) delete look.cursor.audit[day];
  return { ...look.hearing, cursor: look.cursor, read: look.read, more: look.more };
}

/** The lines a file gained since `mark`, within the run's bytes and none past `until`; counted in the look. */
function appended(look: Look, path: string, mark: FileMark | undefined, until?: number) {
  if (budgetLeft(look) <= 0) {
    look.more = true;
    return undefined;
  }
  const lines = readAppendedLines(path, mark, Math.min(FILE_BYTES_PER_RUN, budgetLeft(look)), until);
  if (!lines) return undefined;
  look.read.bytes += lines.bytes;
  look.read.skippedLines += lines.skipped;
  look.more ||= lines.more;
  return lines;
}

/** `.org/sessions/*.jsonl`: each read on from where its cursor stopped, in the turn it stopped in. */
function readTranscripts(look: Look): void {
  const sessionsDir = join(look.workspaceDir, SESSIONS_DIR);
  for (const file of listDir(sessionsDir)) {
    const session = SESSION_FILE.exec(file)?.[1];
    if (session === undefined) continue;
    look.transcripts.add(session);
    const previous = look.cursor.sessions[session];
    const lines = appended(look, join(sessionsDir, file), previous, look.until?.sessions.get(session));
    if (!lines || (lines.lines.length === 0 && previous?.offset === lines.mark.offset && previous.ino === lines.mark.ino)) continue;
    look.read.sessions += 1;
    const replaced = !previous || previous.ino !== lines.mark.ino || lines.mark.offset < previous.offset;
    const position = {
      ...(replaced ? {} : { turn: previous.turn, turnText: previous.turnText }),
      replies: replaced ? {} : { ...previous.replies },
    };
    // Only what org wrote here is anyone's words: a line a clone or an archive brought, one moved or edited, or one
    // sealed in another workspace is not heard. A line sealed before seals named the workspace is heard only in a file
    // this cursor already followed (the same inode): the person's own transcript, not a copy of it elsewhere.
    const legacy = previous !== undefined && previous.ino === lines.mark.ino;
    const { heard, unsealed } = readSealedTranscriptEvents(session, lines.lines, look.home, { sessionsDir, legacy });
    if (unsealed > 0) look.read.unheard.push({ file: join(SESSIONS_DIR, file), lines: unsealed });
    hearRoomEvents(
      session,
      heard.map(({ at, line }) => ({ at, event: line })),
      position,
      look.kindOf,
      look.now,
      look.hearing,
    );
    look.cursor.sessions[session] = {
      ...lines.mark,
      ...(position.turn !== undefined ? { turn: position.turn } : {}),
      ...(position.turnText !== undefined ? { turnText: position.turnText } : {}),
      ...(Object.keys(position.replies).length > 0 ? { replies: position.replies } : {}),
    };
  }
}

/** `.org/audit/<day>.jsonl`: failed calls made outside any transcript (serve's `/v1/tools`, for one). */
function readAuditLog(look: Look): void {
  for (const { day, path } of auditDayFiles(join(look.workspaceDir, AUDIT_DIR))) {
    const lines = appended(look, path, look.cursor.audit[day]);
    if (!lines) continue;
    look.cursor.audit[day] = lines.mark;
    if (lines.lines.length > 0) look.read.auditDays += 1;
    const { entries, unsealed } = readSealedAuditLines(
      day,
      lines.lines.map((line) => line.text),
      look.home,
    );
    if (unsealed > 0) look.read.unheard.push({ file: join(AUDIT_DIR, `${day}.jsonl`), lines: unsealed });
    for (const entry of entries) {
      if (entry.ok) continue;
      if (entry.sessionId !== undefined && look.transcripts.has(entry.sessionId)) continue;
      const need = auditNeed(entry, look.kindOf, look.now);
      if (need) look.hearing.needs.push(need);
    }
  }
}

/** Serve's finished jobs since the cursor, whose session left no transcript; one dated ahead of now waits for its time. */
function readJobs(look: Look): void {
  const seen = new Set(look.cursor.jobs.ids);
  // Dated ahead of now (planted, or written while the clock was ahead): read once its time comes, since taking it
  // now would move the cursor past every job that ends meanwhile.
  const jobs = finishedJobs(look.workspaceDir, { since: look.cursor.jobs.through, until: Date.parse(look.now) }, { home: look.home }).filter(
    (job) => job.finishedAt > look.cursor.jobs.through || !seen.has(job.id),
  );
  if (jobs.length > JOBS_PER_RUN) look.more = true;
  for (const job of jobs.slice(0, JOBS_PER_RUN)) {
    if (job.id === look.until?.job) {
      look.more = true;
      break;
    }
    const through = look.cursor.jobs.through;
    if (job.finishedAt < through) continue;
    if (job.finishedAt === through && look.cursor.jobs.ids.length >= MAX_JOB_IDS) {
      // More results of one millisecond than the cursor keeps (planted, or unpacked all at once; serve writes nothing
      // like it): the rest of that millisecond is passed over rather than kept in a cursor no run could write.
      look.cursor.jobs = { through: through + 1, ids: [] };
      continue;
    }
    // The look's own copy of the cursor: a job of the same millisecond joins its ids in place (a copy per job made a
    // planted millisecond of 10 000 results quadratic).
    if (job.finishedAt > through) look.cursor.jobs = { through: job.finishedAt, ids: [job.id] };
    else look.cursor.jobs.ids.push(job.id);
    const result = job.result();
    if (!result) continue;
    look.read.jobs += 1;
    if (result.sessionId !== undefined && look.transcripts.has(result.sessionId)) continue;
    if (!result.sealed) {
      look.read.unheard.push({ file: join(SERVE_STATE_DIR, "results", `${job.id}.json`), lines: 1 });
      continue;
    }
    const events = result.events.map((event, index) => ({ at: index, event }));
    const heardBefore = look.hearing.turns.length;
    hearRoomEvents(plain(result.sessionId, job.id), events, { replies: {} }, look.kindOf, look.now, look.hearing);
    for (const turn of look.hearing.turns.slice(heardBefore)) turn.job = job.id;
  }
}

/** The need in an audited call that failed outside any transcript: a tool that does not exist, or a generated tool failing. */
function auditNeed(entry: AuditEntry, kindOf: ToolKindOf, now: string): Need | undefined {
  const session = plain(entry.sessionId, "audit");
  const time = validTime(entry.time) ?? now;
  // A call without a request id is told apart by its time, as written when that is plain.
  const turn = plain(entry.requestId, plain(`call-${entry.time}`, `call-${time}`)).slice(0, 128);
  const args = oneLine(JSON.stringify(entry.arguments ?? null) ?? "", 200);
  // A call no persona made (none named, or serve's "http": its /v1/tools) came from a client: a person, or their program.
  const source = entry.persona === undefined || entry.persona === "http" ? "user" : "persona";
  const kind = kindOf(entry.tool);
  if (kind === undefined) {
    const goal = safeGoal(missingToolGoal(entry.tool, entry.arguments));
    // A call whose aim is moving credentials somewhere is no need (safeGoal refused it).
    if (goal === "") return undefined;
    return {
      kind: "missing-tool",
      goal,
      ...(TOOL_NAME_PATTERN.test(entry.tool) ? { tool: entry.tool } : {}),
      session,
      turn,
      quote: oneLine(`${entry.tool}(${args}): no such tool`, QUOTE_CHARS),
      source,
      time,
    };
  }
  if (kind !== "promoted") return undefined;
  const goal = safeGoal(`${entry.tool} that also works for ${args}`);
  if (goal === "") return undefined;
  return {
    kind: "failed-call",
    goal,
    tool: entry.tool,
    session,
    turn,
    quote: oneLine(`${entry.tool}(${args}) failed`, QUOTE_CHARS),
    source: "tool",
    time,
  };
}
