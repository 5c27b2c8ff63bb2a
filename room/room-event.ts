import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { LOOP_STOP_REASONS } from "../llm/loop-stop-reasons.ts";
import { modelWaitFields } from "../llm/model-wait.ts";
import { replyReportSchemas } from "../personas/reply-report.ts";
import { type RoomMessage, roomMessageSchemas } from "../personas/room-message.ts";

/** Why the room posted a notice (`notice` events). */
const NOTICE_REASONS = [
  "hop-limit",
  "replies-in-a-row",
  /** A tool loop stopped; `reply-chars`: a reply reached limits.replyChars and was cut there. */
  ...LOOP_STOP_REASONS,
  "budget",
  "approval",
  "tool-limit",
  /** A call written into a reply repeated outside text (a tool's result, a page, memory) and was not run. */
  "quoted-call",
  "file-refused",
  "damaged-transcript",
  "unknown-persona",
  "model-list",
  "tool-choice",
  "memory",
  "credential-guard",
  /** A promotion or rollback changed the promoted tools while the room is open. */
  "tools-changed",
  /** A change a command made on the private copy of the workspace: shown, refused, applied or undone. */
  "workspace-change",
  /** `/wish TEXT`: something the user wants the room to be able to do; `org grow` reads it from the transcript. */
  "wish",
  /** The room's MCP servers: one started, stopped, is restarting, waits for the user's confirmation; its tools changed. */
  "mcp",
  /** The config file changed while a served room is open (`org web`): what of it the room takes, or why it cannot. */
  "config",
  /** Heard messages fell out of a persona's window and could not be summarised (or compaction is off): what the prompt holds. */
  "compaction",
] as const;

/** The parts of a room event that other events and schemas share: its stats, notices and approvals. */
function roomEventParts() {
  const { RoomToolCall } = roomMessageSchemas();
  /** Per persona, per user turn: what its replies cost and how fast they came. */
  const PersonaStats = z.object({
    replies: z.number(),
    promptTokens: z.number(),
    completionTokens: z.number(),
    /** Completion tokens per second of streaming (first token to end). */
    tokensPerSecond: z.number(),
    /** From the reply's start to its first visible token (queue wait included); null if none came. */
    firstTokenMs: z.number().nullable(),
    /** Time spent queued for the model server. */
    queuedMs: z.number(),
    durationMs: z.number(),
  });

  /** A reply that ended without its answer though nothing threw: the tool loop was stopped, or its last sandboxed run failed. */
  const IncompleteReply = z.object({
    persona: z.string(),
    replyId: z.string(),
    reason: z.enum([...LOOP_STOP_REASONS, "tool-failed"]),
  });
  const NoticeReason = z.enum(NOTICE_REASONS);

  /** What an approval question may be answered with: `always` allows that persona's tool for the rest of the session. */
  const ApprovalChoice = z.enum(["yes", "no", "always"]);

  /** How an approval question ended: a choice, nobody answering in time, or the turn stopped first. */
  const ApprovalOutcome = z.enum([...ApprovalChoice.options, "timeout", "stopped"]);

  /** Why a workspace change was not applied: it failed the checks, conflicts with the user's edits, was denied, or its write failed. */
  const ChangeRefusal = z.enum(["checks", "conflict", "denied", "failed"]);

  /** A tool call or workspace change waits for someone's yes or no; any subscriber of the room's stream may answer it. */
  const ApprovalAsked = z.object({
    type: z.literal("approval-asked"),
    approvalId: z.string(),
    persona: z.string(),
    replyId: z.string().optional(),
    /** The call as it will run (redacted); a workspace change is a `workspace_write` call whose arguments are its files and counts. */
    call: RoomToolCall,
    /** What the call would do, shown above the question: a workspace change's diff, cut to its first lines. */
    preview: z.string().optional(),
    /** The workspace change this question decides (`change-proposed`). */
    changeId: z.string().optional(),
    choices: z.array(ApprovalChoice),
    /** What `always` allows for the rest of the session, when it is not that persona's tool ("web_request to api.github.com"). */
    alwaysFor: z.string().optional(),
    /**
     * Why the person is asked though the policy allows the call: the persona took words from outside this turn ("agent read
     * the words of https://x.example (browser) in this turn; it now asks to run sh. …"). Every front end shows it.
     */
    why: z.string().optional(),
  });
  const ErrorEvent = z.object({
    type: z.literal("error"),
    persona: z.string().optional(),
    replyId: z.string().optional(),
    message: z.string(),
    kind: z.string().optional(),
    /** A model call that failed for a transient reason (`llm/chat-errors.ts`'s `retryable`): serve's jobs retry on it. */
    retryable: z.boolean().optional(),
    /** How long the server asked to wait (its Retry-After), when the error carries it. */
    retryAfterMs: z.number().optional(),
  });

  return {
    PersonaStats,
    IncompleteReply,
    NoticeReason,
    ApprovalChoice,
    ApprovalOutcome,
    ChangeRefusal,
    ApprovalAsked,
    Conversation: conversationEvents(),
    ErrorEvent,
  };
}

/** What happened to the conversation the personas hear: `/clear` forgot it, or a compaction summarised part of it. */
function conversationEvents() {
  return [z.object({ type: z.literal("cleared") }), compactionEvent()] as const;
}

/**
 * Heard messages that fell out of `persona`'s window (or all but the newest, `/compact`) summarised by a model: org's
 * summary of them through message `throughId`, which the persona's next prompts hold before the messages after it.
 */
function compactionEvent() {
  return z.object({
    type: z.literal("compaction"),
    persona: z.string(),
    /** How many heard messages the summary now covers for the first time. */
    messages: z.number(),
    throughId: z.string(),
    /** The summary's size as the persona's prompt counts it. */
    tokens: z.number(),
    summary: z.string(),
    model: z.string(),
    /** Lines the model wrote that the messages do not support, left out. */
    dropped: z.number(),
    focus: z.string().optional(),
  });
}

/** Everything the room reports; one stream feeds the console, the transcript, `chat --json` and SSE. */
function roomEventUnion(parts: ReturnType<typeof roomEventParts>) {
  const { ProgressReport, ReasoningDeltaReport, TextDeltaReport, ToolCallReport, ToolResultReport } = replyReportSchemas();
  const { RoomMessage } = roomMessageSchemas();
  const { PersonaStats, IncompleteReply, NoticeReason, ApprovalOutcome, ChangeRefusal, ApprovalAsked, Conversation, ErrorEvent } = parts;
  /** The reply an event of a persona's reply belongs to. */
  const Stamp = { replyId: z.string(), persona: z.string() };
  return z.discriminatedUnion("type", [
    z.object({ type: z.literal("turn-start"), turnId: z.string(), text: z.string(), mode: z.string(), addressed: z.array(z.string()) }),
    z.object({
      type: z.literal("reply-start"),
      turnId: z.string(),
      ...Stamp,
      model: z.string(),
      hop: z.number(),
      /** "console" or "file:<path>". */
      destination: z.string(),
    }),
    z.object({ type: z.literal("waiting"), ...Stamp, ...modelWaitFields() }),
    TextDeltaReport.extend(Stamp),
    ReasoningDeltaReport.extend(Stamp),
    ToolCallReport.extend(Stamp),
    ToolResultReport.extend(Stamp),
    ProgressReport.extend(Stamp),
    z.object({ type: z.literal("message"), persona: z.string().optional(), message: RoomMessage }),
    z.object({ type: z.literal("file-written"), ...Stamp, path: z.string(), bytes: z.number() }),
    /** The generated tools a persona was offered for this reply, out of `of` its policy allows (per-turn tool choice). */
    z.object({ type: z.literal("tool-choice"), ...Stamp, chosen: z.array(z.string()), of: z.number(), method: z.string() }),
    z.object({ type: z.literal("reply-end"), ...Stamp, ok: z.boolean(), stats: PersonaStats }),
    z.object({
      type: z.literal("turn-end"),
      turnId: z.string(),
      ok: z.boolean(),
      stats: z.record(z.string(), PersonaStats),
      incomplete: z.array(IncompleteReply).optional(),
    }),
    z.object({ type: z.literal("mode"), mode: z.string(), by: z.string() }),
    z.object({ type: z.literal("model-changed"), persona: z.string(), model: z.string() }),
    z.object({ type: z.literal("notice"), persona: z.string().optional(), reason: NoticeReason, message: z.string() }),
    ...Conversation,
    ApprovalAsked,
    /** The first answer an approval question got (later ones are refused); `by` names who gave it: `terminal`, `http`, a client's label. */
    z.object({
      type: z.literal("approval-answered"),
      approvalId: z.string(),
      persona: z.string(),
      answer: ApprovalOutcome,
      by: z.string(),
      /** Why, when the answer was not a person's yes or no (a run that cannot ask, an interrupt, the time run out). */
      reason: z.string().optional(),
    }),
    /** A command changed the workspace's private copy: the change, its files and its unified diff (redacted), before it is decided. */
    z.object({
      type: z.literal("change-proposed"),
      changeId: z.string(),
      ...Stamp,
      files: z.array(z.object({ path: z.string(), status: z.string() })),
      added: z.number(),
      removed: z.number(),
      diff: z.string(),
    }),
    /** The change was written to the workspace and journaled under `changeId` (`/undo`, `org undo`). */
    z.object({ type: z.literal("change-applied"), changeId: z.string(), ...Stamp }),
    z.object({
      type: z.literal("change-refused"),
      changeId: z.string(),
      ...Stamp,
      reason: ChangeRefusal,
      message: z.string(),
    }),
    /** `/undo` reverted an applied workspace change; the reply that made it (`replyId`) leaves the models' context. */
    z.object({ type: z.literal("change-undone"), changeId: z.string(), replyId: z.string().optional(), persona: z.string().optional() }),
    ErrorEvent,
  ]);
}

/**
 * The room event's schemas, made on first use: the room makes its events as plain objects, and only what reads them
 * back (a transcript's page, serve's routes, `org undo`) builds these.
 */
export const roomEventSchemas = onFirstUse(() => {
  const parts = roomEventParts();
  return { ...parts, RoomEvent: roomEventUnion(parts) };
});
type Schemas = ReturnType<typeof roomEventSchemas>;
export type PersonaStats = z.infer<Schemas["PersonaStats"]>;
export type IncompleteReply = z.infer<Schemas["IncompleteReply"]>;
export type NoticeReason = z.infer<Schemas["NoticeReason"]>;
export type ApprovalChoice = z.infer<Schemas["ApprovalChoice"]>;
export type ApprovalOutcome = z.infer<Schemas["ApprovalOutcome"]>;
export type ChangeRefusal = z.infer<Schemas["ChangeRefusal"]>;
export type ApprovalAsked = z.infer<Schemas["ApprovalAsked"]>;
export type RoomEvent = z.infer<Schemas["RoomEvent"]>;

/** What `Room.send` resolves to once every reply of the turn is done. */
export type TurnSummary = {
  turnId: string;
  /** False when a reply failed (its error is in `errors`). */
  ok: boolean;
  messages: RoomMessage[];
  stats: Record<string, PersonaStats>;
  errors: { persona?: string; message: string }[];
  /** Replies that ended without an answer: a stopped tool loop or a failed last tool. */
  incomplete: IncompleteReply[];
};
