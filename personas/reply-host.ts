import type { ToolLoopAllowance } from "../tools/tool-loop-allowance.ts";
import type { Usage } from "../llm/chat-types.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { LoopStopReason } from "../llm/loop-stop-reasons.ts";
import type { ReplyReport } from "./reply-report.ts";
import type { RoomMessage } from "./room-message.ts";

/**
 * What a persona's `respond` may use from the room: a narrow view, so models never import the room. Its
 * tools, approval and bounds are the tool loop's own `ToolLoopAllowance` (tools: allow and ask of the
 * persona's policy; `approve`: "ask" tools go to the user, a hop's code tools may be capped).
 */
export type ReplyHost = Readonly<ToolLoopAllowance> & {
  readonly replyId: string;
  readonly signal: AbortSignal;
  /** The message this reply answers. */
  readonly trigger: RoomMessage;
  /** The room messages the persona answers from, the trigger last. */
  readonly history: readonly RoomMessage[];
  /** Every persona's name in the room. */
  readonly roomPersonas: readonly string[];
  /** The persona's model, holding its server's request slot only while a completion streams. */
  readonly model: LanguageModel;
  /** Streams what the reply does to the room (console, transcript, `--json`, SSE). */
  report(event: ReplyReport): void;
  /** Token usage of one model call, for the reply's figures. */
  reportUsage(usage: Usage): void;
};

/** How a reply ended; a thrown error instead means it broke off (the room keeps what streamed). */
export type ReplyOutcome = {
  text: string;
  /** Set when the tool loop was cut short, so the answer may be missing. */
  stopped?: LoopStopReason;
  /** Whom the reply asks next; by default the personas its text @mentions. */
  addressed?: string[];
};
