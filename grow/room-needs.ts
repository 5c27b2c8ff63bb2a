// What a stream of room events says of needs (a transcript's lines, or a finished job's events, read by their owners'
// readers): the facts (calls of tools that do not exist, failing generated tools, workflow steps that failed,
// commands missing in the sandbox, `/wish`), the needs the word rules find in what was said (requests in a user's
// words, replies that say a persona could not do something), and each turn as it was said, piece by piece with whose
// words each piece is, for the model to hear. Transcript text is hostile: it only ever becomes a bounded goal, a quote
// and a piece, never a command, a path or a name grow acts on.
import { TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { RoomEvent } from "../room/room-event.ts";
import type { TranscriptLine } from "../room/transcript-line.ts";
import { cannotGoal, GOAL_CHARS, messageGoal, missingCommandGoal, missingToolGoal, requestedGoal } from "./need-signals.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import type { NeedKind, NeedSource, ProposalKind } from "./proposal.ts";
import { safeGoal, safeQuote } from "./safe-goal.ts";
import { blockedBySetting } from "./setting-blocks.ts";

/** One need as noticed, before it joins a proposal. */
export type Need = {
  kind: NeedKind;
  goal: string;
  /** The tool the need names (a missing tool, a failing one); only a valid tool name. */
  tool?: string;
  session: string;
  turn: string;
  quote: string;
  /** Whose words showed it: the kind of event it was in. */
  source: NeedSource;
  /** ISO time it was seen. */
  time: string;
  /** What it asks for when its kind does not say (a workflow step whose generated tool failed asks for a rebuild). */
  asks?: ProposalKind;
};

/** One piece of a turn as said: whose words (`who`: a persona, a tool) and the text, one bounded line. */
export type HeardPiece = { source: NeedSource; who: string; text: string };
/**
 * A turn of a session as the model hears it: its pieces in order; where its first event was read (`at`: a
 * transcript's byte offset) and, for a finished job's, the job, so that a turn left unheard can be read again.
 */
export type HeardTurn = { session: string; turn: string; time: string; pieces: HeardPiece[]; at: number; job?: string };

/**
 * What noticing gathers from room events: the needs the rules find, in order (facts, and the word rules' needs in
 * what was said: `WORDED_KINDS`, which the model's hearing of the same turns replaces), and the turns to hear.
 */
export type RoomHearing = { needs: Need[]; turns: HeardTurn[] };

/** The kinds the word rules find in what was said; the other kinds are facts of calls and results, and stay rules. */
export const WORDED_KINDS: ReadonlySet<NeedKind> = new Set(["request", "cannot"]);

/** What a tool name is in this workspace: a built-in (or org's own), a promoted generated tool, or nothing. */
export type ToolKindOf = (name: string) => "built-in" | "promoted" | undefined;

/** Where a session's reading stands between batches: its turn, that turn's text, and which turn each reply is in. */
export type SessionPosition = { turn?: string; turnText?: string; replies: Record<string, string> };

const TURN_ID = /^[\w.:-]{1,128}$/;
// What the cursor keeps of a turn's message, for a reply read in a later run: enough for its goal and to be heard.
const TURN_TEXT_CHARS = 1_200;
// Replies remembered per session between batches: a reply's turn is needed only while it is being written.
const REMEMBERED_REPLIES = 64;
// Each piece a turn is heard in, cut to a bound: a person's message, a persona's reply, a call, a tool's output.
const PIECE_CHARS: Record<NeedSource | "call", number> = { user: 1_200, persona: 800, call: 300, tool: 500 };
const PIECES_PER_TURN = 16;

/** A turn id as evidence keeps it: as written when it is plain, else a stand-in that cannot carry anything. */
function turnOf(id: string | undefined): string {
  if (id !== undefined && TURN_ID.test(id)) return id;
  return "unknown-turn";
}

const NO_TOOL_NAMED = /^Error: there is no tool named "([^"\n]{1,200})"/;
const WORKFLOW_MISSING = /there is no promoted tool "([a-z][a-z0-9_]{1,47})"/;
const WORKFLOW_FAILED = /step "([^"\n]{1,100})"[^\n]*?the tool ([a-z][a-z0-9_]{1,47}) failed \((\w+)\): ([^\n]*)/;

/** An event as read: a transcript's line (with its time) or a job's event (without). */
type ReadEvent = RoomEvent | TranscriptLine;

/** One read of a session's events: the turns heard so far, the needs found, and the session's position. */
class SessionRead {
  readonly #turns = new Map<string, HeardTurn>();
  /** Turns whose start is in this read: heard from their message on, not from the one the cursor remembers. */
  readonly started = new Set<string>();
  /** Where the event being read starts. */
  at = 0;

  constructor(
    readonly session: string,
    readonly position: SessionPosition,
    readonly kindOf: ToolKindOf,
    readonly now: string,
    readonly hearing: RoomHearing,
  ) {}

  need(need: Omit<Need, "session" | "quote" | "time" | "goal"> & { goal: string; quote: string; time?: string | undefined }): void {
    const goal = safeGoal(need.goal);
    if (goal === "") return;
    this.hearing.needs.push({ ...need, goal, session: this.session, quote: safeQuote(need.quote), time: validTime(need.time) ?? this.now });
  }

  /** The turn `turn` as heard in this read; a turn that began in an earlier read starts with its remembered message. */
  heard(turn: string, time: string | undefined): HeardTurn {
    let heard = this.#turns.get(turn);
    if (!heard) {
      heard = { session: this.session, turn, time: validTime(time) ?? this.now, pieces: [], at: this.at };
      if (!this.started.has(turn) && turn === this.position.turn && this.position.turnText)
        heard.pieces.push({ source: "user", who: "user", text: this.position.turnText });
      this.#turns.set(turn, heard);
      this.hearing.turns.push(heard);
    }
    return heard;
  }

  piece(turn: string, time: string | undefined, piece: HeardPiece, bound: number): void {
    const text = oneLine(piece.text, bound);
    if (text === "") return;
    const heard = this.heard(turn, time);
    if (heard.pieces.length < PIECES_PER_TURN) heard.pieces.push({ ...piece, who: oneLine(piece.who, 64), text });
  }

  /** The turn a reply belongs to: the one its start named, else the turn being read. */
  replyTurn(replyId: string): string {
    // Looked up as an own key: a reply id such as "__proto__" names nothing.
    return (Object.hasOwn(this.position.replies, replyId) ? this.position.replies[replyId] : undefined) ?? turnOf(this.position.turn);
  }
}

/**
 * Reads `events` (each with the byte offset its line started at) in order from where `position` left the session,
 * adding what they say to `hearing`; `position` is updated as the events go by.
 */
export function hearRoomEvents(
  session: string,
  events: readonly { at: number; event: ReadEvent }[],
  position: SessionPosition,
  kindOf: ToolKindOf,
  now: string,
  hearing: RoomHearing,
): void {
  const read = new SessionRead(session, position, kindOf, now, hearing);
  for (const { at, event } of events) {
    read.at = at;
    hearEvent(read, at, event);
  }
}

function timeOf(event: ReadEvent): string | undefined {
  return "time" in event && typeof event.time === "string" ? event.time : undefined;
}

function hearEvent(read: SessionRead, at: number, event: ReadEvent): void {
  const { position } = read;
  const time = timeOf(event);
  switch (event.type) {
    case "turn-start": {
      position.turn = turnOf(event.turnId);
      position.turnText = event.text.slice(0, TURN_TEXT_CHARS);
      position.replies = {};
      read.started.add(position.turn);
      read.piece(position.turn, time, { source: "user", who: "user", text: event.text }, PIECE_CHARS.user);
      const goal = requestedGoal(event.text);
      if (goal) read.need({ kind: "request", goal, turn: position.turn, quote: event.text, source: "user", time });
      return;
    }
    case "reply-start": {
      const replies = Object.entries(position.replies).slice(-(REMEMBERED_REPLIES - 1));
      position.replies = Object.fromEntries([...replies, [event.replyId.slice(0, 128), turnOf(event.turnId)]]);
      return;
    }
    case "tool-call":
      read.piece(
        read.replyTurn(event.replyId),
        time,
        { source: "persona", who: `${event.persona} calls ${event.call.name}`, text: safeJson(event.call.arguments) },
        PIECE_CHARS.call,
      );
      return;
    case "tool-result":
      hearToolResult(read, event, time);
      return;
    case "message":
      hearMessage(read, event.message, time);
      return;
    case "notice": {
      if (event.reason !== "wish") return;
      const goal = oneLine(event.message, GOAL_CHARS);
      if (goal !== "") read.need({ kind: "wish", goal, turn: `wish-${at}`, quote: `/wish ${event.message}`, source: "user", time });
      return;
    }
    default:
      return;
  }
}

function hearToolResult(read: SessionRead, event: Extract<ReadEvent, { type: "tool-result" }>, time: string | undefined): void {
  const turn = read.replyTurn(event.replyId);
  read.piece(turn, time, { source: "tool", who: `${event.call.name} result`, text: event.output }, PIECE_CHARS.tool);
  if (event.ok) return;
  const need = toolResultNeed(event.call.name, event.call.arguments, event.output, read.kindOf);
  if (need) read.need({ ...need, turn, time });
}

function hearMessage(read: SessionRead, message: Extract<ReadEvent, { type: "message" }>["message"], time: string | undefined): void {
  if (message.from === "user") return;
  const { position } = read;
  const turn = turnOf(message.turnId);
  read.piece(turn, message.time ?? time, { source: "persona", who: message.from, text: message.text }, PIECE_CHARS.persona);
  const turnText = position.turn === turn ? position.turnText : undefined;
  // A reply that could not do what it was asked without saying what ("Sorry, I can't do that") is a need in the words
  // of the message it answered: the person's, and its evidence is theirs.
  let fromMessage = false;
  const goal = cannotGoal(message.text, () => {
    const asked = turnText === undefined ? undefined : messageGoal(turnText);
    fromMessage = asked !== undefined;
    return asked;
  });
  if (!goal) return;
  // What org's own settings stopped (a read-only view, a denied call) is no tool need.
  const heard = read.heard(turn, message.time ?? time);
  const others = heard.pieces.filter((piece) => piece.source !== "user").map((piece) => piece.text);
  if (blockedBySetting(goal, [message.text, ...others], turnText ?? "")) return;
  const said =
    fromMessage && turnText !== undefined
      ? { quote: turnText, source: "user" as const }
      : { quote: `${message.from}: ${message.text}`, source: "persona" as const };
  read.need({ kind: "cannot", goal, turn, ...said, time: message.time ?? time });
}

/** The need a failed tool result shows, if any: a fact of the call (a missing tool is the persona's call; a failure the tool's). */
export function toolResultNeed(name: string, args: unknown, output: string, kindOf: ToolKindOf): Omit<Need, "session" | "turn" | "time"> | undefined {
  const missing = NO_TOOL_NAMED.exec(output)?.[1];
  if (missing !== undefined && missing === name && kindOf(name) === undefined) {
    return {
      kind: "missing-tool",
      goal: missingToolGoal(name, args),
      ...(TOOL_NAME_PATTERN.test(name) ? { tool: name } : {}),
      quote: `${name}(${safeJson(args)}): ${output}`,
      source: "persona",
    };
  }
  if (name === "workflow_run") return workflowNeed(args, output, kindOf);
  if (kindOf(name) === "promoted" && output.startsWith(`Error: ${name} failed (`)) {
    return {
      kind: "failed-call",
      goal: oneLine(`${name} that also works for ${safeJson(args)} (it failed: ${output.slice(`Error: ${name} failed `.length)})`, GOAL_CHARS),
      tool: name,
      quote: `${name}(${safeJson(args)}): ${output}`,
      source: "tool",
    };
  }
  const command = missingCommandGoal(name, output);
  if (command) return { kind: "missing-command", goal: command.goal, quote: `${name}(${safeJson(args)}): ${output}`, source: "tool" };
  return undefined;
}

function workflowNeed(args: unknown, output: string, kindOf: ToolKindOf): Omit<Need, "session" | "turn" | "time"> | undefined {
  const quote = `workflow_run(${safeJson(args)}): ${output}`;
  const absent = WORKFLOW_MISSING.exec(output)?.[1];
  if (absent !== undefined && kindOf(absent) === undefined)
    return { kind: "failed-step", goal: missingToolGoal(absent, {}), tool: absent, quote, source: "tool" };
  const failed = WORKFLOW_FAILED.exec(output);
  if (failed?.[2] !== undefined && kindOf(failed[2]) === "promoted")
    return {
      kind: "failed-step",
      goal: oneLine(`${failed[2]} that also works where step ${failed[1]} failed (${failed[3]}): ${failed[4] ?? ""}`, GOAL_CHARS),
      tool: failed[2],
      asks: "rebuild",
      quote,
      source: "tool",
    };
  return undefined;
}

function safeJson(value: unknown): string {
  try {
    return oneLine(JSON.stringify(value) ?? "", 200);
  } catch {
    return "";
  }
}

/**
 * A line's time as the ISO datetime a proposal keeps, or undefined. A date past year 9999 or before year 0 parses, but
 * JavaScript writes it with six digits and a sign ("+010000-…"), which no proposal holds: kept, it would make every
 * run's state unwritable, and the line that brought it be read again by the next run.
 */
export function validTime(time: string | undefined): string | undefined {
  if (time === undefined) return undefined;
  const parsed = Date.parse(time);
  if (!Number.isFinite(parsed)) return undefined;
  const iso = new Date(parsed).toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
}
