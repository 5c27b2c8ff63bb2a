import type { CallDecision } from "../chat.ts";
import type { ToolCall, Usage } from "../llm/chat-types.ts";
import type { Budget } from "../security/budget.ts";
import type { ToolTimeBudget } from "../security/tool-time-budget.ts";
import type { AnyTool, ToolContext } from "../tools/define-tool.ts";
import type { ReplyReport } from "./reply-report.ts";
import type { RoomMessage } from "./room-message.ts";

/** A request slot on the persona's model server (a stock Ollama serves one request at a time). */
export type ServerSlot = {
  /** Waits for a free slot (reporting the wait); a no-op while this reply holds one. */
  acquire(): Promise<void>;
  /** Gives the slot back; a no-op when none is held. */
  release(): void;
};

/** What a persona's `respond` may use from the room: a narrow view, so models never import the room. */
export type ReplyHost = {
  readonly replyId: string;
  readonly signal: AbortSignal;
  /** The message this reply answers. */
  readonly trigger: RoomMessage;
  /** The room messages the persona answers from, the trigger last. */
  readonly history: readonly RoomMessage[];
  /** Every persona's name in the room. */
  readonly roomPersonas: readonly string[];
  readonly slot: ServerSlot;
  /** The tools the persona's policy offers (allow and ask). */
  readonly tools: ReadonlyMap<string, AnyTool>;
  /** Whether a tool call may run (and under whose policy): "ask" tools go to the user, a hop's code tools may be capped. */
  approve(call: ToolCall): Promise<boolean | CallDecision>;
  readonly toolContext: Omit<ToolContext, "signal">;
  readonly maxToolRounds: number;
  /** Tool calls this reply may make. */
  readonly maxToolCalls: number;
  /** Characters this reply may stream (limits.replyChars). */
  readonly maxReplyChars: number;
  readonly budget: Budget;
  /** Seconds of tool time the user's turn has left, shared by the turn's replies. */
  readonly toolTime: ToolTimeBudget;
  /** The Authorization header that belongs to the persona's server, if any. */
  readonly authorization?: string;
  /** Streams what the reply does to the room (console, transcript, `--json`, SSE). */
  report(event: ReplyReport): void;
  /** Token usage of one model call, for the reply's figures. */
  reportUsage(usage: Usage): void;
};

/** How a reply ended; a thrown error instead means it broke off (the room keeps what streamed). */
export type ReplyOutcome = {
  text: string;
  /** Set when the tool loop was cut short, so the answer may be missing. */
  stopped?: "max-rounds" | "repeated-call" | "reply-chars";
  /** Whom the reply asks next; by default the personas its text @mentions. */
  addressed?: string[];
};
