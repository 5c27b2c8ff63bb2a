// Noticing: what happened in a workspace since grow last looked. The transcripts (`.org/sessions/*.jsonl`), the
// audit log (`.org/audit/<day>.jsonl`: tool calls made outside any transcript, such as serve's `/v1/tools`), and
// serve's finished jobs whose session left no transcript. Each source is read from the cursor on, bounded per run
// (the rest waits for the next), without following links; a line that is not an event is passed over.
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { AUDIT_DIR, SESSIONS_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { SERVE_STATE_DIR } from "../serve/jobs-log.ts";
import { type GrowCursor, MAX_JOB_IDS } from "./grow-state.ts";
import { missingToolGoal, oneLine, QUOTE_CHARS } from "./need-signals.ts";
import { type Need, needsOfRoomEvents, type ToolKindOf, validTime } from "./room-needs.ts";
import { type FileMark, readAppendedLines } from "./read-appended.ts";
import { readFileNoFollow } from "../workspace/change-set.ts";

/** Bytes read from one file in one run; the rest is read by the next. */
const FILE_BYTES_PER_RUN = 8 * 1024 * 1024;
/** Bytes read from all sources in one run. */
const RUN_BYTES = 64 * 1024 * 1024;
/** A job result larger than this is not read. */
const MAX_JOB_BYTES = 4 * 1024 * 1024;
/** Job results looked at per run. */
const JOBS_PER_RUN = 2_000;

const SESSION_FILE = /^([A-Za-z0-9][\w.-]{0,127})\.jsonl$/;
const AUDIT_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const JOB_FILE = /^(job-[a-z0-9-]{8,64})\.json$/;

/** What one look found, and the cursor to keep once its needs are kept. */
export type Noticed = {
  needs: Need[];
  cursor: GrowCursor;
  /** Sources read, for the report. */
  read: { sessions: number; auditDays: number; jobs: number; bytes: number; skippedLines: number };
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

function parseLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What the room knows by this name: its built-ins and own tools, and the promoted generated tools given. */
export function toolKinds(generated: Iterable<string>): ToolKindOf {
  const promoted = new Set(generated);
  const builtIn = new Set(RESERVED_TOOL_NAMES);
  return (name) => (builtIn.has(name) ? "built-in" : promoted.has(name) ? "promoted" : undefined);
}

const AuditLine = z.object({
  time: z.string().max(64),
  sessionId: z.string().max(200).optional(),
  requestId: z.string().max(200).optional(),
  tool: z.string().max(200),
  arguments: z.unknown(),
  ok: z.boolean(),
});

const JobFile = z.object({ id: z.string(), sessionId: z.string().optional(), events: z.array(z.unknown()), finishedAt: z.number() });

const PLAIN = /^[\w.:-]{1,128}$/;
const plain = (text: string | undefined, fallback: string) => (text !== undefined && PLAIN.test(text) ? text : fallback);

/** What one look shares across its sources: the cursor it moves, the needs it finds, the bytes it may still read. */
type Look = {
  workspaceDir: string;
  kindOf: ToolKindOf;
  now: string;
  cursor: GrowCursor;
  needs: Need[];
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
export function noticeNeeds(options: { workspaceDir: string; cursor: GrowCursor; kindOf: ToolKindOf; now?: Date }): Noticed {
  const look: Look = {
    workspaceDir: options.workspaceDir,
    kindOf: options.kindOf,
    now: (options.now ?? new Date()).toISOString(),
    cursor: structuredClone(options.cursor),
    needs: [],
    read: { sessions: 0, auditDays: 0, jobs: 0, bytes: 0, skippedLines: 0 },
    more: false,
    transcripts: new Set(),
  };
  readTranscripts(look);
  readAuditLog(look);
  readJobs(look);
  // A transcript or audit day deleted since: its place in the cursor goes too.
  for (const session of Object.keys(look.cursor.sessions)) if (!look.transcripts.has(session)) delete look.cursor.sessions[session];
  const days = new Set(listDir(join(look.workspaceDir, AUDIT_DIR)).flatMap((file) => AUDIT_FILE.exec(file)?.[1] ?? []));
  for (const day of Object.keys(look.cursor.audit)) if (!days.has(day)) delete look.cursor.audit[day];
  return { needs: look.needs, cursor: look.cursor, read: look.read, more: look.more };
}

/** The lines a file gained since `mark`, within the run's bytes; counted in the look. */
function appended(look: Look, path: string, mark: FileMark | undefined) {
  if (budgetLeft(look) <= 0) {
    look.more = true;
    return undefined;
  }
  const lines = readAppendedLines(path, mark, Math.min(FILE_BYTES_PER_RUN, budgetLeft(look)));
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
    const lines = appended(look, join(sessionsDir, file), previous);
    if (!lines || (lines.lines.length === 0 && previous?.offset === lines.mark.offset && previous.ino === lines.mark.ino)) continue;
    look.read.sessions += 1;
    const replaced = !previous || previous.ino !== lines.mark.ino || lines.mark.offset < previous.offset;
    const position = {
      ...(replaced ? {} : { turn: previous.turn, turnText: previous.turnText }),
      replies: replaced ? {} : { ...previous.replies },
    };
    const events = lines.lines.map((line) => ({ offset: line.offset, value: parseLine(line.text) }));
    look.needs.push(...needsOfRoomEvents(session, events, position, look.kindOf, look.now));
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
  const auditDir = join(look.workspaceDir, AUDIT_DIR);
  for (const file of listDir(auditDir)) {
    const day = AUDIT_FILE.exec(file)?.[1];
    if (day === undefined) continue;
    const lines = appended(look, join(auditDir, file), look.cursor.audit[day]);
    if (!lines) continue;
    look.cursor.audit[day] = lines.mark;
    if (lines.lines.length > 0) look.read.auditDays += 1;
    for (const line of lines.lines) {
      const entry = AuditLine.safeParse(parseLine(line.text));
      if (!entry.success || entry.data.ok) continue;
      if (entry.data.sessionId !== undefined && look.transcripts.has(entry.data.sessionId)) continue;
      const need = auditNeed(entry.data, look.kindOf, look.now);
      if (need) look.needs.push(need);
    }
  }
}

/** Serve's finished jobs (`.org/serve/results/<id>.json`) since the cursor, whose session left no transcript. */
function readJobs(look: Look): void {
  const resultsDir = join(look.workspaceDir, SERVE_STATE_DIR, "results");
  const seen = new Set(look.cursor.jobs.ids);
  const nowMs = Date.parse(look.now);
  const jobs: { id: string; path: string; finishedAt: number }[] = [];
  for (const file of listDir(resultsDir)) {
    const id = JOB_FILE.exec(file)?.[1];
    if (id === undefined) continue;
    const path = join(resultsDir, file);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size > MAX_JOB_BYTES) continue;
    // A result is written once, atomically, when its job ends: its mtime is when it finished.
    const finishedAt = Math.floor(stat.mtimeMs);
    if (finishedAt < look.cursor.jobs.through || (finishedAt === look.cursor.jobs.through && seen.has(id))) continue;
    // Dated ahead of now (planted, or written while the clock was ahead): read once its time comes, since taking it
    // now would move the cursor past every job that ends meanwhile.
    if (finishedAt > nowMs) continue;
    jobs.push({ id, path, finishedAt });
  }
  jobs.sort((a, b) => a.finishedAt - b.finishedAt || a.id.localeCompare(b.id));
  if (jobs.length > JOBS_PER_RUN) look.more = true;
  for (const job of jobs.slice(0, JOBS_PER_RUN)) {
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
    const bytes = readFileNoFollow(job.path, MAX_JOB_BYTES);
    const parsed = JobFile.safeParse(parseLine(bytes ? Buffer.from(bytes).toString("utf8") : ""));
    if (!parsed.success) continue;
    look.read.jobs += 1;
    if (parsed.data.sessionId !== undefined && look.transcripts.has(parsed.data.sessionId)) continue;
    const events = parsed.data.events.map((value, index) => ({ offset: index, value }));
    look.needs.push(...needsOfRoomEvents(plain(parsed.data.sessionId, job.id), events, { replies: {} }, look.kindOf, look.now));
  }
}

/** The need in an audited call that failed outside any transcript: a tool that does not exist, or a generated tool failing. */
function auditNeed(entry: z.infer<typeof AuditLine>, kindOf: ToolKindOf, now: string): Need | undefined {
  const session = plain(entry.sessionId, "audit");
  const time = validTime(entry.time) ?? now;
  // A call without a request id is told apart by its time, as written when that is plain.
  const turn = plain(entry.requestId, plain(`call-${entry.time}`, `call-${time}`)).slice(0, 128);
  const args = oneLine(JSON.stringify(entry.arguments ?? null) ?? "", 200);
  const kind = kindOf(entry.tool);
  if (kind === undefined) {
    return {
      kind: "missing-tool",
      goal: missingToolGoal(entry.tool, entry.arguments),
      ...(TOOL_NAME_PATTERN.test(entry.tool) ? { tool: entry.tool } : {}),
      session,
      turn,
      quote: oneLine(`${entry.tool}(${args}): no such tool`, QUOTE_CHARS),
      time,
    };
  }
  if (kind !== "promoted") return undefined;
  return {
    kind: "failed-call",
    goal: oneLine(`${entry.tool} that also works for ${args}`, 200),
    tool: entry.tool,
    session,
    turn,
    quote: oneLine(`${entry.tool}(${args}) failed`, QUOTE_CHARS),
    time,
  };
}
