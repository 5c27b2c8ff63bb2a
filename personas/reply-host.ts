import type { ToolLoopAllowance } from "../tools/tool-loop-allowance.ts";
import type { Usage } from "../llm/chat-types.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { LoopStopReason } from "../llm/loop-stop-reasons.ts";
import type { TokenEstimator } from "../llm/token-estimate.ts";
import type { AssembledPrompt, PromptSummary } from "./prompt-assembly.ts";
import type { ReplyReport } from "./reply-report.ts";
import type { IdentityFacts } from "./persona-identity.ts";
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
  /** The model of the round that follows `tool`'s result when the config routes it (`models.byTool`); the persona's else. */
  readonly modelAfterTool?: ((tool: string) => LanguageModel | undefined) | undefined;
  /** Streams what the reply does to the room (console, transcript, `--json`, SSE). */
  report(event: ReplyReport): void;
  /** Token usage of one model call, for the reply's figures. */
  reportUsage(usage: Usage): void;
  /** How the prompt keeps to the model's window. */
  readonly prompt: PromptKeeping;
};

/** What a reply's prompt is assembled with, made by the room per reply. */
export type PromptKeeping = {
  /** The room's token estimate, calibrated by what each completion reports. */
  readonly estimator: TokenEstimator;
  /** Tokens kept free for the reply (`compaction.reserveTokens`; at most a quarter of a small window). */
  readonly reserveTokens: number;
  /** Org's summary of the persona's earlier heard messages, when there is one. */
  readonly summary: PromptSummary | undefined;
  /** Told of the prompt sent: heard messages that fell out are compacted off the reply's path. */
  assembled(prompt: AssembledPrompt): void;
  /** What org learned about the person (the workspace's profile, `personas/user-profile.ts`), bounded; absent when none. */
  readonly profile?: string | undefined;
  /** The bounds the identity lines state (limits in org.config.json) and the secrets they may never carry. */
  readonly identity?: IdentityLimits | undefined;
};

/** The bounds of a reply as a persona's identity lines state them. */
export type IdentityLimits = Pick<IdentityFacts, "maxRounds" | "maxToolCalls" | "toolSeconds" | "secrets">;

/** How a reply ended; a thrown error instead means it broke off (the room keeps what streamed). */
export type ReplyOutcome = {
  text: string;
  /** Set when the tool loop was cut short, so the answer may be missing. */
  stopped?: LoopStopReason;
  /** Whom the reply asks next; by default the personas its text @mentions. */
  addressed?: string[];
};
