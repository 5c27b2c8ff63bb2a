import { closeSync, constants, existsSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, statSync, writeSync } from "node:fs";
import { fsyncEnabled } from "../config/environment.ts";
import { numberedLines, readJsonLines } from "../config/json-lines.ts";
import { type LineSealer, lineSealer } from "../config/line-seal.ts";
import { workspaceKey } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { dirname, join } from "node:path";
import { isTokenCount } from "../llm/token-count.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import { ensurePrivateDir, openPrivateFile, readPrivateFile, readPrivateFileStart } from "../security/private-state.ts";
import type { RoomEvent } from "./room-event.ts";
import { type TranscriptLine, transcriptLineSchema } from "./transcript-line.ts";
import { dropSummariesOfUndone, markTurnUndone } from "./undo-turn.ts";
import type { PromptSummary } from "../personas/prompt-assembly.ts";
import { OrgError } from "../errors/org-error.ts";

/** How long streamed text may wait in memory before it is written: what a `kill -9` can lose at most. */
export const TRANSCRIPT_FLUSH_MS = 100;

/** Told every line as it is written (memory indexes them); it must not throw, and whatever it does, the line is on disk first. */
export type TranscriptObserver = (sessionId: string, line: TranscriptLine) => void;

type Delta = Extract<RoomEvent, { type: "text-delta" | "reasoning-delta" }> & { time: string };

/** The room's state as a transcript leaves it. */
export type RestoredSession = {
  sessionId: string;
  mode: string;
  history: RoomMessage[];
  /** Models switched with `useModel`, per persona. */
  models: Record<string, string>;
  /** Each persona's newest summary of earlier messages (`compaction` lines), unless /clear or an /undo behind it dropped it. */
  summaries: Record<string, PromptSummary>;
  tokensUsed: number;
  /** Lines that could not be read or do not match the schema (a crash mid-write leaves at most the last one). */
  damagedLines: number;
  /** Where they are: 1-based line numbers, the first DAMAGED_LINES_LISTED of them. */
  damagedLineNumbers: number[];
  /** `compaction` lines skipped because org did not seal them here (`resume`). */
  unsealedCompactions: number;
};

/** How many damaged line numbers a restored session lists; the count covers all of them. */
export const DAMAGED_LINES_LISTED = 10;

/** No such session; the message lists the ones there are. */
export class SessionNotFoundError extends OrgError {
  override name = "SessionNotFoundError";
}

const SESSION_ID = /^[A-Za-z0-9][\w.-]{0,127}$/;

/** A new session id: sortable by time, unique enough for one machine. */
export function newSessionId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${crypto.randomUUID().slice(0, 6)}`;
}

/** How far past now a session's id or last write may be before it counts as dated in the future. */
const FUTURE_SLACK_MS = 24 * 60 * 60 * 1000;

/** When a session id made by `newSessionId` says it started, in ms since the epoch; undefined for any other name. */
function sessionIdTime(id: string): number | undefined {
  const stamp = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(id);
  if (!stamp) return undefined;
  const [year, month, day, hour, minute, second] = stamp.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/**
 * Session ids in a sessions directory, oldest first by last write. One dated in the future (its id's stamp or its
 * last write more than a day past `now`: no session of org's is, a planted or cloned file can be) is listed first,
 * as the oldest, so the session a resume opens by default (the last) is never one for being dated 2099.
 */
export function listSessions(sessionsDir: string, now = Date.now()): string[] {
  if (!existsSync(sessionsDir)) return [];
  const future = (id: string, mtime: number) => mtime > now + FUTURE_SLACK_MS || (sessionIdTime(id) ?? 0) > now + FUTURE_SLACK_MS;
  return readdirSync(sessionsDir)
    .filter((file) => file.endsWith(".jsonl"))
    .map((file) => {
      const id = file.slice(0, -".jsonl".length);
      const mtime = statSync(join(sessionsDir, file)).mtimeMs;
      return { id, mtime, future: future(id, mtime) };
    })
    .sort((a, b) => Number(b.future) - Number(a.future) || a.mtime - b.mtime || a.id.localeCompare(b.id))
    .map((session) => session.id);
}

/** A session as a list shows it: its id, its first user message (cut short), when it was last written and its size. */
export type SessionDescription = { id: string; title: string; updated: string; bytes: number };

/** How much of a transcript's start is read for its title; a first message further in leaves the title empty. */
const TITLE_SCAN_BYTES = 64 * 1024;
const TITLE_CHARS = 120;

/** Describes a session from its transcript's start, without reading it whole; undefined when it is gone or not a transcript of org's. */
export function describeSession(sessionsDir: string, sessionId: string): SessionDescription | undefined {
  const path = transcriptPath(sessionsDir, sessionId);
  let start: { text: string; size: number };
  let updated: string;
  try {
    start = readPrivateFileStart(path, TITLE_SCAN_BYTES);
    updated = statSync(path).mtime.toISOString();
  } catch {
    return undefined;
  }
  // Only whole lines (the last one read may be cut), read up to the first turn's start: a list of many sessions reads little.
  const whole = start.text.slice(0, start.text.lastIndexOf("\n") + 1);
  let first: TranscriptLine | undefined;
  for (const line of numberedLines(whole)) {
    first = readTranscriptEvents([line]).events[0]?.line;
    if (first?.type === "turn-start") break;
  }
  const text = first?.type === "turn-start" ? first.text.replace(/\s+/g, " ").trim() : "";
  const title = text.length > TITLE_CHARS ? `${text.slice(0, TITLE_CHARS - 1)}…` : text;
  return { id: sessionId, title, updated, bytes: start.size };
}

/** The transcript file of a session; refuses ids that could point outside the sessions directory. */
export function transcriptPath(sessionsDir: string, sessionId: string): string {
  if (!SESSION_ID.test(sessionId)) {
    throw new SessionNotFoundError(`"${sessionId}" is not a session id (letters, digits, '.', '_' and '-' only).`);
  }
  return join(sessionsDir, `${sessionId}.jsonl`);
}

/**
 * The sealer of a session's transcript lines in the sessions folder `sessionsDir`, under the key of the user's org
 * folder `home` (made there when `create`): each line is sealed over the workspace (its sessions folder's real path),
 * the session's id, the byte offset it starts at and its text, so a line counts as written by org on this machine only
 * in the workspace, the file and at the place it was written (docs/ARCHITECTURE.md, "Sealed transcripts").
 */
export function transcriptSealer(home: string | undefined, sessionsDir: string, sessionId: string, create: boolean): LineSealer | undefined {
  return lineSealer(home, `transcript ${sessionId} in ${workspaceKey(sessionsDir)}`, create);
}

/**
 * The sealer of lines written before seals named the workspace: such a line holds in any workspace it is copied to, so
 * it is believed only where `org grow` already followed that very file (`readSealedTranscriptEvents`' `legacy`).
 */
function legacyTranscriptSealer(home: string | undefined, sessionId: string): LineSealer | undefined {
  return lineSealer(home, `transcript ${sessionId}`, false);
}

/**
 * An append-only transcript, one write(2) per line, each line sealed with the user's key (`transcriptSealer`). Streamed text and reasoning are
 * gathered per reply and
 * written every `flushMs` and before any other event (reply end, tool call, turn end), so a 4 KB reply is a
 * few lines, not one per chunk, and a crash or `kill -9` loses at most one interval of streamed text.
 */
export class Transcript {
  readonly sessionId: string;
  readonly path: string;
  #fd: number | undefined;
  readonly #flushMs: number;
  readonly #onLine: ((line: TranscriptLine) => void) | undefined;
  readonly #sealer: LineSealer | undefined;
  /** ORG_FSYNC / ORG_PROFILE=prod: every line reaches the disk before the room goes on. */
  readonly #fsync = fsyncEnabled();
  /** Deltas not yet written, per reply and kind, in the order they began. */
  readonly #pending = new Map<string, Delta>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    sessionId: string,
    path: string,
    fd: number,
    flushMs: number,
    sealer: LineSealer | undefined,
    onLine?: (line: TranscriptLine) => void,
  ) {
    this.#onLine = onLine;
    this.#sealer = sealer;
    this.sessionId = sessionId;
    this.path = path;
    this.#fd = fd;
    this.#flushMs = flushMs;
  }

  /**
   * Opens (creating when new) the transcript of a session for appending, its lines sealed with the key of the user's
   * org folder (`home`, the environment's by default; unsealed when there is none that can keep a key).
   */
  static open(
    sessionsDir: string,
    sessionId: string,
    header: { personas: string[]; mode: string },
    options: { flushMs?: number; onLine?: (line: TranscriptLine) => void; home?: string | undefined } = {},
  ): Transcript {
    ensurePrivateDir(sessionsDir);
    const path = transcriptPath(sessionsDir, sessionId);
    // Opened without following links and 0600: a transcript holds whatever was typed and every tool's output.
    const fd = openPrivateFile(path);
    const size = statSync(`/proc/self/fd/${fd}`).size;
    const isNew = size === 0;
    const home = "home" in options ? options.home : userOrgDir();
    const sealer = transcriptSealer(home, sessionsDir, sessionId, true);
    const transcript = new Transcript(sessionId, path, fd, options.flushMs ?? TRANSCRIPT_FLUSH_MS, sealer, options.onLine);
    if (isNew) {
      transcript.#write({ type: "session-start", time: new Date().toISOString(), sessionId, ...header, version: 1 });
    } else {
      // A line cut by a crash: end it so the next event starts on its own line.
      if (!endsWithNewline(fd, size)) writeSync(fd, "\n");
      transcript.#write({ type: "session-resumed", time: new Date().toISOString() });
    }
    return transcript;
  }

  append(event: RoomEvent): void {
    const time = new Date().toISOString();
    if (event.type === "text-delta" || event.type === "reasoning-delta") {
      const key = `${event.type}\u0000${event.replyId}`;
      const pending = this.#pending.get(key);
      if (pending) pending.text += event.text;
      else this.#pending.set(key, { ...event, time });
      this.#timer ??= setTimeout(() => this.flush(), this.#flushMs);
      return;
    }
    this.flush();
    this.#write({ time, ...event });
  }

  /** Writes the streamed text gathered so far. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const delta of pending) this.#write(delta);
  }

  #write(line: TranscriptLine): void {
    if (this.#fd === undefined) return;
    const text = JSON.stringify(line);
    // Sealed at the offset the line will start at: the file's end (org undo may have appended since the last line).
    writeSync(this.#fd, `${this.#sealer ? this.#sealer.seal(String(fstatSync(this.#fd).size), text) : text}\n`);
    if (this.#fsync) fsyncSync(this.#fd);
    this.#onLine?.(line);
  }

  close(): void {
    this.flush();
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Whether the file open (for appending) as `fd`, of `size` bytes, ends with a newline: its last byte alone is read. */
function endsWithNewline(fd: number, size: number): boolean {
  if (size === 0) return true;
  // The append-only descriptor cannot be read; the same open file is, through /proc.
  const reading = openSync(`/proc/self/fd/${fd}`, "r");
  try {
    const last = Buffer.alloc(1);
    readSync(reading, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(reading);
  }
}

/**
 * Appends events to a session's existing transcript from outside its room (`org undo`), each as the room would write
 * it: a line of the transcript's schema with its time, sealed. Nothing is written for a session that has no transcript here.
 */
export function appendToTranscript(
  sessionsDir: string,
  sessionId: string,
  events: readonly RoomEvent[],
  seals: { home: string | undefined } = { home: userOrgDir() },
): void {
  if (!SESSION_ID.test(sessionId) || events.length === 0) return;
  const path = transcriptPath(sessionsDir, sessionId);
  if (!existsSync(path)) return;
  const time = new Date().toISOString();
  const lines = events.map((event) => transcriptLineSchema().parse({ time, ...event }));
  const fd = openPrivateFile(path);
  try {
    // A line cut by a crash: end it so these start on their own line.
    const size = statSync(`/proc/self/fd/${fd}`).size;
    const lead = size === 0 || endsWithNewline(fd, size) ? "" : "\n";
    const sealer = transcriptSealer(seals.home, sessionsDir, sessionId, true);
    let offset = size + lead.length;
    const texts = lines.map((line) => {
      const text = JSON.stringify(line);
      const sealed = sealer ? sealer.seal(String(offset), text) : text;
      offset += Buffer.byteLength(sealed) + 1;
      return sealed;
    });
    writeSync(fd, `${lead}${texts.join("\n")}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Transcript lines as text, each with where it stands (a line number, a byte offset: the caller's), read as events:
 * the lines that are transcript lines, in order, and where the others are (a line a crash tore, or anything else).
 * The one parser of transcript lines: the room's resume, memory, and `org grow` reading from its cursor.
 */
export function readTranscriptEvents<Where>(lines: Iterable<{ at: Where; text: string }>): {
  events: { at: Where; line: TranscriptLine }[];
  damaged: Where[];
} {
  const { values, damaged } = readJsonLines(lines, transcriptLineSchema());
  return { events: values.map(({ at, value }) => ({ at, line: value })), damaged };
}

/**
 * The transcript lines of session `sessionId` in the sessions folder `where.sessionsDir` among lines read with their
 * byte offsets, split by whether org wrote them there: `heard` holds those whose seal holds under the user's key
 * (`home`) for this workspace, in order; `unsealed` counts the transcript lines whose seal is missing or does not hold
 * (a clone's, an archive's, an older org's, one moved, edited or copied from another workspace). A line sealed before
 * seals named the workspace is heard only with `where.legacy` (`org grow` followed this very file here before). `org
 * grow` hears only the sealed ones as anyone's words.
 */
export function readSealedTranscriptEvents(
  sessionId: string,
  lines: readonly { offset: number; text: string }[],
  home: string | undefined,
  where: { sessionsDir: string; legacy: boolean },
): { heard: { at: number; line: TranscriptLine }[]; unsealed: number } {
  const sealer = transcriptSealer(home, where.sessionsDir, sessionId, false);
  const legacy = where.legacy ? legacyTranscriptSealer(home, sessionId) : undefined;
  const text = new Map(lines.map((line) => [line.offset, line.text]));
  const { events } = readTranscriptEvents(lines.map((line) => ({ at: line.offset, text: line.text })));
  const holds = (at: number) => sealer?.holds(String(at), text.get(at) ?? "") === true || legacy?.holds(String(at), text.get(at) ?? "") === true;
  const heard = events.filter(({ at }) => holds(at));
  return { heard, unsealed: events.length - heard.length };
}

/**
 * A restored transcript's lines sealed for the workspace it was backed up from (`fromSessionsDir`) sealed again, in
 * place, for the one it is restored into (`path`'s folder): a seal is as long either way, so every line stays where it
 * was. A line whose seal does not hold there (another person's, made up, a copy's) is left as it is, and stays unheard.
 * Returns how many lines were sealed again.
 */
export function resealRestoredTranscript(path: string, sessionId: string, fromSessionsDir: string, home: string | undefined): number {
  const from = transcriptSealer(home, fromSessionsDir, sessionId, false);
  const to = transcriptSealer(home, dirname(path), sessionId, false);
  if (!from || !to || workspaceKey(fromSessionsDir) === workspaceKey(dirname(path))) return 0;
  const text = readPrivateFile(path);
  let resealed = 0;
  let offset = 0;
  const lines = text.split("\n").map((line) => {
    const at = offset;
    offset += Buffer.byteLength(line) + 1;
    if (!from.holds(String(at), line)) return line;
    resealed += 1;
    // The seal is the line's last member (`holds` checked it), and a new one is as long: every offset stays.
    return to.seal(String(at), `${line.slice(0, line.lastIndexOf(',"seal":'))}}`);
  });
  if (resealed === 0) return 0;
  const fd = openPrivateFile(path, constants.O_WRONLY);
  try {
    writeSync(fd, lines.join("\n"), 0);
  } finally {
    closeSync(fd);
  }
  return resealed;
}

/** A transcript line as read: the line, where it starts (a byte offset, what its seal is made for) and its text. */
type ReadLine = { line: TranscriptLine; offset: number; text: string };

function readTranscriptLines(path: string): { lines: ReadLine[]; damagedLines: number; damagedLineNumbers: number[] } {
  // Never through a link: a planted `.org/sessions/<id>.jsonl` would feed another file into the session.
  let offset = 0;
  const numbered = readPrivateFile(path)
    .split("\n")
    .map((text, index) => {
      const at = { number: index + 1, offset, text };
      offset += Buffer.byteLength(text) + 1;
      return { at, text };
    });
  const { events, damaged } = readTranscriptEvents(numbered);
  return {
    lines: events.map(({ at, line }) => ({ line, offset: at.offset, text: at.text })),
    damagedLines: damaged.length,
    damagedLineNumbers: damaged.slice(0, DAMAGED_LINES_LISTED).map((at) => at.number),
  };
}

/** Reads a transcript's lines, skipping (and counting) any that a crash left unreadable. */
export function readTranscript(path: string): { lines: TranscriptLine[]; damagedLines: number; damagedLineNumbers: number[] } {
  const { lines, damagedLines, damagedLineNumbers } = readTranscriptLines(path);
  return { lines: lines.map((read) => read.line), damagedLines, damagedLineNumbers };
}

/** Which session `resume` means: an id, or `true` for the one written last. */
export function resolveSessionId(sessionsDir: string, resume: string | true): string {
  const sessions = listSessions(sessionsDir);
  if (resume === true) {
    const latest = sessions.at(-1);
    if (!latest) throw new SessionNotFoundError(`there is no session to resume in ${sessionsDir}; start a new one without --resume.`);
    return latest;
  }
  if (!existsSync(transcriptPath(sessionsDir, resume))) {
    const known = sessions.slice(-5).join(", ") || "none";
    throw new SessionNotFoundError(`no session "${resume}" in ${sessionsDir}. Recent sessions: ${known}.`);
  }
  return resume;
}

type OpenReply = { persona: string; turnId: string; text: string; time: string };

/** A reply that never got its message line was cut off when its process ended: it keeps its place, marked failed. */
function closeCutOffReplies(open: Map<string, OpenReply>, history: RoomMessage[], personas: string[]): void {
  for (const [replyId, reply] of open) {
    if (reply.text === "") continue;
    history.push({
      id: replyId,
      turnId: reply.turnId,
      from: reply.persona,
      text: reply.text,
      time: reply.time,
      heardBy: personas,
      addressed: [],
      failed: "the session ended (the process stopped) before this reply finished",
    });
  }
  open.clear();
}

/** The transcript's lines less the `compaction` lines whose seal does not hold (see `resume`), and how many those were. */
function withSealedCompactions<Line extends { type: string }>(
  read: { line: Line; offset: number; text: string }[],
  sealer: { holds(key: string, text: string): boolean } | undefined,
): { lines: Line[]; unsealedCompactions: number } {
  const lines = read.flatMap(({ line, offset, text }) => (line.type !== "compaction" || sealer?.holds(String(offset), text) === true ? [line] : []));
  return { lines, unsealedCompactions: read.length - lines.length };
}

/**
 * Rebuilds the room's state from a session's transcript. A reply that was still streaming when the
 * process died comes back as a message marked failed, with the text that had arrived. A `compaction` line is taken
 * only when its seal holds under the user's key (`seals.home`) for this workspace: a summary becomes part of every
 * later prompt, so one that org did not write here (a clone's, a forged file's) is skipped and counted. Other lines
 * are taken sealed or not: transcripts written before seals, or where no key can be kept, have none.
 */
export function resume(sessionsDir: string, sessionId: string, seals: { home: string | undefined } = { home: userOrgDir() }): RestoredSession {
  const { lines: read, damagedLines, damagedLineNumbers } = readTranscriptLines(transcriptPath(sessionsDir, sessionId));
  const { lines, unsealedCompactions } = withSealedCompactions(read, transcriptSealer(seals.home, sessionsDir, sessionId, false));
  let mode = "group";
  let personas: string[] = [];
  let history: RoomMessage[] = [];
  const models: Record<string, string> = {};
  let summaries = new Map<string, PromptSummary>();
  let tokensUsed = 0;
  const open = new Map<string, OpenReply>();

  const closeOpenReplies = () => closeCutOffReplies(open, history, personas);
  for (const line of lines) {
    switch (line.type) {
      case "session-resumed":
        closeOpenReplies();
        break;
      case "session-start":
        mode = line.mode;
        personas = line.personas;
        break;
      case "mode":
        mode = line.mode;
        break;
      case "model-changed":
        models[line.persona] = line.model;
        break;
      case "cleared":
        history = [];
        summaries = new Map();
        open.clear();
        break;
      case "compaction": {
        const previous = summaries.get(line.persona)?.messages ?? 0;
        summaries.set(line.persona, { text: line.summary, throughId: line.throughId, messages: previous + line.messages });
        break;
      }
      case "reply-start":
        open.set(line.replyId, { persona: line.persona, turnId: line.turnId, text: "", time: line.time });
        break;
      case "text-delta": {
        const reply = open.get(line.replyId);
        if (reply) reply.text += line.text;
        break;
      }
      case "message":
        history.push(line.message);
        open.delete(line.message.id);
        break;
      case "change-undone":
        markTurnUndone(history, line.replyId, line.changeId);
        dropSummariesOfUndone(history, summaries, line.replyId);
        break;
      case "reply-end":
        open.delete(line.replyId);
        // A count no server sends (negative, not finite) is none: a planted line must not credit the session's budget.
        for (const count of [line.stats.promptTokens, line.stats.completionTokens]) if (isTokenCount(count)) tokensUsed += count;
        break;
      default:
        break;
    }
  }
  closeOpenReplies();
  return {
    sessionId,
    mode,
    history,
    models,
    summaries: Object.fromEntries(summaries),
    tokensUsed,
    damagedLines,
    damagedLineNumbers,
    unsealedCompactions,
  };
}
