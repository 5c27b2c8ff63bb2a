import type { RoomEvent } from "../room/room-event.ts";
import { describeCompaction } from "../room/compaction-line.ts";
import { toolResultSummary } from "../room/tool-summary.ts";

type EventOf<Type extends RoomEvent["type"]> = Extract<RoomEvent, { type: Type }>;
export type ReplyStats = EventOf<"reply-end">["stats"];
export type ApprovalAsked = EventOf<"approval-asked">;

/** A piece of a reply in the order it came: text, folded thinking, or a tool call (with its result once it came). */
export type ReplyPart =
  | { kind: "text"; text: string }
  | { kind: "thinking"; text: string }
  | { kind: "tool"; call: EventOf<"tool-call">["call"]; result?: ToolPartResult }
  | { kind: "progress"; step: string; status: string; detail?: string }
  | { kind: "approval"; approval: ApprovalAsked; answer?: string; by?: string };

/**
 * A tool call's result as the lane shows it; `egress` is what a sandboxed run reached through the egress guard and what
 * it was refused, one entry each ("reached 2 hosts (…), 41 MB in, 1 KB out", "refused evil.example: …"); `summary` the
 * line a tool sums its result up with (the browser's `14 links, 3 inputs`), its output then folded under it, and
 * `screenshot` the path in the session's folder of the image it saved.
 */
export type ToolPartResult = {
  ok: boolean;
  output: string;
  exitCode?: number | null;
  durationMs: number;
  egress?: string[];
  summary?: string;
  screenshot?: string;
};

/** The egress guard's summary a sandboxed tool's result carries in its data, as entries; undefined when it has none. */
export function egressEntries(data: unknown): string[] | undefined {
  if (typeof data !== "object" || data === null || !("egress" in data) || typeof data.egress !== "string") return undefined;
  const entries = data.egress
    .split("; ")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  return entries.length > 0 ? entries : undefined;
}

/** One persona's reply as the page shows it; `rev` grows with every change, so a view redraws only what changed. */
export type Reply = {
  replyId: string;
  persona: string;
  turnId: string;
  model: string;
  hop: number;
  parts: ReplyPart[];
  stats?: ReplyStats;
  ok?: boolean;
  error?: string;
  waiting?: string;
  done: boolean;
  rev: number;
};

/** A line the room said that belongs to no reply: a notice, an error, a mode change. */
export type RoomNote = { kind: "notice" | "error" | "mode" | "cleared"; text: string; persona?: string };

/** One user turn: what was sent, the replies it drew (in order of their start), and the room's notes meanwhile. */
export type Turn = { turnId: string; text: string; mode: string; replies: Reply[]; notes: RoomNote[]; done: boolean; ok?: boolean; rev: number };

/** What the room view draws: the turns in order, the newest being the one whose replies stream in the lanes. */
export type RoomState = {
  turns: Turn[];
  /** Notes before any turn (a resumed session's mode, notices). */
  notes: RoomNote[];
  replies: Map<string, Reply>;
  approvals: Map<string, { approval: ApprovalAsked; answer?: string; by?: string; replyId?: string }>;
  /** Answers to questions asked before the state's first event (an older page of the transcript has them). */
  answered: Map<string, { answer: string; by: string }>;
  mode: string;
  /** Every persona that has spoken, in order of first appearance (the session's own list comes first). */
  personas: string[];
  /** Each persona's model window, where the session's answer said it (`GET /v1/sessions/:id`'s `personas[].window`). */
  windows?: Record<string, { tokens: number; source: string; detail?: string | undefined }>;
  rev: number;
};

export function emptyRoomState(personas: readonly string[] = [], mode = "group"): RoomState {
  return { turns: [], notes: [], replies: new Map(), approvals: new Map(), answered: new Map(), mode, personas: [...personas], rev: 0 };
}

function lastTurn(state: RoomState): Turn | undefined {
  return state.turns[state.turns.length - 1];
}

/** The turn a note goes with: the newest while it runs, else none (a note of its own before the next turn). */
function note(state: RoomState, entry: RoomNote): void {
  const turn = lastTurn(state);
  if (turn && !turn.done) {
    turn.notes.push(entry);
    turn.rev += 1;
  } else if (turn) {
    turn.notes.push(entry);
    turn.rev += 1;
  } else state.notes.push(entry);
}

function knowPersona(state: RoomState, persona: string): void {
  if (!state.personas.includes(persona)) state.personas.push(persona);
}

function replyFor(state: RoomState, replyId: string, persona: string): Reply {
  const known = state.replies.get(replyId);
  if (known) return known;
  // A delta without its start (the start was before the stream's backlog): a reply of the newest turn.
  const turn = lastTurn(state) ?? startTurn(state, { turnId: `unknown-${replyId}`, text: "", mode: state.mode });
  const reply: Reply = { replyId, persona, turnId: turn.turnId, model: "", hop: 0, parts: [], done: false, rev: 0 };
  state.replies.set(replyId, reply);
  turn.replies.push(reply);
  knowPersona(state, persona);
  return reply;
}

function startTurn(state: RoomState, start: { turnId: string; text: string; mode: string }): Turn {
  const turn: Turn = { turnId: start.turnId, text: start.text, mode: start.mode, replies: [], notes: [], done: false, rev: 0 };
  const previous = lastTurn(state);
  if (previous && !previous.done) previous.done = true;
  state.turns.push(turn);
  return turn;
}

function appendText(reply: Reply, kind: "text" | "thinking", text: string): void {
  const last = reply.parts[reply.parts.length - 1];
  if (last?.kind === kind) last.text += text;
  else reply.parts.push({ kind, text });
}

/** The turn of that id, looked for from the newest: an event is almost always of the newest turn. */
function turnOf(state: RoomState, turnId: string): Turn | undefined {
  for (let index = state.turns.length - 1; index >= 0; index -= 1) if (state.turns[index]?.turnId === turnId) return state.turns[index];
  return undefined;
}

function touch(state: RoomState, reply: Reply): void {
  reply.rev += 1;
  const turn = turnOf(state, reply.turnId);
  if (turn) turn.rev += 1;
}

/** The events that belong to one persona's reply. */
type ReplyEvent = Extract<
  RoomEvent,
  { type: "reply-start" | "waiting" | "text-delta" | "reasoning-delta" | "tool-call" | "tool-result" | "progress" | "reply-end" }
>;
const REPLY_EVENTS: ReadonlySet<RoomEvent["type"]> = new Set([
  "reply-start",
  "waiting",
  "text-delta",
  "reasoning-delta",
  "tool-call",
  "tool-result",
  "progress",
  "reply-end",
]);
const isReplyEvent = (event: RoomEvent): event is ReplyEvent => REPLY_EVENTS.has(event.type);

/** Folds one room event into the state, in place; returns whether anything changed. */
export function applyRoomEvent(state: RoomState, event: RoomEvent): boolean {
  state.rev += 1;
  return isReplyEvent(event) ? applyReplyEvent(state, event) : applyTurnEvent(state, event);
}

/** An event of one persona's reply: its start, its waiting, its text, thinking, tools and progress, its end. */
function applyReplyEvent(state: RoomState, event: ReplyEvent): boolean {
  switch (event.type) {
    case "reply-start": {
      const reply = replyFor(state, event.replyId, event.persona);
      Object.assign(reply, { model: event.model, hop: event.hop });
      touch(state, reply);
      return true;
    }
    case "waiting": {
      const reply = replyFor(state, event.replyId, event.persona);
      reply.waiting = event.reason === "queued" ? "waiting for a turn on the model server" : "waiting for the first token";
      touch(state, reply);
      return true;
    }
    case "text-delta":
    case "reasoning-delta": {
      const reply = replyFor(state, event.replyId, event.persona);
      reply.waiting = undefined;
      appendText(reply, event.type === "text-delta" ? "text" : "thinking", event.text);
      touch(state, reply);
      return true;
    }
    case "tool-call": {
      const reply = replyFor(state, event.replyId, event.persona);
      reply.parts.push({ kind: "tool", call: event.call });
      touch(state, reply);
      return true;
    }
    case "tool-result": {
      const reply = replyFor(state, event.replyId, event.persona);
      const part = [...reply.parts].reverse().find((entry) => entry.kind === "tool" && entry.call.id === event.call.id && !entry.result);
      const egress = egressEntries(event.data);
      const summary = event.ok ? toolResultSummary(event.call.name, event.data) : undefined;
      const result: ToolPartResult = {
        ok: event.ok,
        output: event.output,
        durationMs: event.durationMs,
        ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
        ...(egress !== undefined ? { egress } : {}),
        ...(summary !== undefined ? { summary: summary.text } : {}),
        ...(summary?.screenshot !== undefined ? { screenshot: summary.screenshot } : {}),
      };
      if (part?.kind === "tool") part.result = result;
      else reply.parts.push({ kind: "tool", call: event.call, result });
      touch(state, reply);
      return true;
    }
    case "progress": {
      const reply = replyFor(state, event.replyId, event.persona);
      reply.parts.push({ kind: "progress", step: event.step, status: event.status, ...(event.detail !== undefined ? { detail: event.detail } : {}) });
      touch(state, reply);
      return true;
    }
    case "reply-end": {
      const reply = replyFor(state, event.replyId, event.persona);
      Object.assign(reply, { stats: event.stats, ok: event.ok, done: true, waiting: undefined });
      touch(state, reply);
      return true;
    }
  }
}

/** An event of the turn or the room: a turn's start and end, messages, notes, approvals. */
function applyTurnEvent(state: RoomState, event: Exclude<RoomEvent, ReplyEvent>): boolean {
  switch (event.type) {
    case "turn-start":
      startTurn(state, event);
      return true;
    case "turn-end": {
      const turn = turnOf(state, event.turnId);
      if (!turn) return false;
      Object.assign(turn, { done: true, ok: event.ok });
      for (const reply of turn.replies) reply.done = true;
      turn.rev += 1;
      return true;
    }
    case "message": {
      const { message } = event;
      if (message.from === "user") {
        if (!turnOf(state, message.turnId)) startTurn(state, { turnId: message.turnId, text: message.text, mode: state.mode });
        return true;
      }
      // A reply known only by its message (a transcript without its deltas): shown whole.
      const reply = state.replies.get(message.id) ?? replyFor(state, message.id, message.from);
      if (!reply.parts.some((part) => part.kind === "text")) {
        for (const run of message.tools ?? [])
          reply.parts.push({ kind: "tool", call: run.call, result: { ok: run.ok, output: run.output, durationMs: 0 } });
        reply.parts.push({ kind: "text", text: message.text });
      }
      if (message.failed) reply.error = message.failed;
      reply.done = true;
      touch(state, reply);
      return true;
    }
    case "mode":
      state.mode = event.mode;
      note(state, { kind: "mode", text: `mode: ${event.mode} (by ${event.by})` });
      return true;
    case "notice":
      note(state, { kind: "notice", text: event.message, ...(event.persona !== undefined ? { persona: event.persona } : {}) });
      return true;
    case "error": {
      const reply = event.replyId ? state.replies.get(event.replyId) : undefined;
      if (reply) {
        reply.error = event.message;
        touch(state, reply);
      } else note(state, { kind: "error", text: event.message, ...(event.persona !== undefined ? { persona: event.persona } : {}) });
      return true;
    }
    case "cleared":
      note(state, { kind: "cleared", text: "the conversation was cleared (the session file keeps it)" });
      return true;
    case "compaction":
      note(state, { kind: "notice", text: describeCompaction(event), persona: event.persona });
      return true;
    case "change-undone":
      note(state, { kind: "notice", text: `change ${event.changeId} was undone` });
      return true;
    case "approval-asked": {
      const reply = event.replyId ? state.replies.get(event.replyId) : undefined;
      const owner = reply ?? latestReplyOf(state, event.persona);
      state.approvals.set(event.approvalId, { approval: event, ...(owner ? { replyId: owner.replyId } : {}) });
      if (owner) {
        owner.parts.push({ kind: "approval", approval: event });
        touch(state, owner);
      } else note(state, { kind: "notice", text: `${event.persona} asks to run ${event.call.name}`, persona: event.persona });
      return true;
    }
    case "approval-answered":
      answerApproval(state, event.approvalId, { answer: event.answer, by: event.by });
      return true;
    default:
      return false;
  }
}

/** Marks a question answered, in the reply that shows it; an answer to a question this state never saw is kept for an older page. */
export function answerApproval(state: RoomState, approvalId: string, answered: { answer: string; by: string }): void {
  const entry = state.approvals.get(approvalId);
  if (!entry) {
    state.answered.set(approvalId, answered);
    return;
  }
  Object.assign(entry, answered);
  const reply = entry.replyId ? state.replies.get(entry.replyId) : undefined;
  const part = reply?.parts.find((candidate) => candidate.kind === "approval" && candidate.approval.approvalId === approvalId);
  if (reply && part?.kind === "approval") {
    Object.assign(part, answered);
    touch(state, reply);
  }
}

function latestReplyOf(state: RoomState, persona: string): Reply | undefined {
  const turn = lastTurn(state);
  return turn ? [...turn.replies].reverse().find((reply) => reply.persona === persona) : undefined;
}

/** The approvals still waiting for an answer, oldest first. */
export function openApprovals(state: RoomState): ApprovalAsked[] {
  return [...state.approvals.values()].filter((entry) => entry.answer === undefined).map((entry) => entry.approval);
}
