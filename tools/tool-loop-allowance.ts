import type { Budget } from "../security/budget.ts";
import type { ToolTimeBudget } from "../security/tool-time-budget.ts";
import type { ToolCall } from "../llm/chat-types.ts";
import type { AnyTool, CallContext, OutsideWords } from "./define-tool.ts";

/** Tool calls one reply may make unless the caller says otherwise (limits.toolCallsPerReply). */
export const DEFAULT_TOOL_CALLS_PER_REPLY = 32;
/** Characters one reply may stream unless the caller says otherwise (limits.replyChars). */
export const DEFAULT_REPLY_CHARS = 200_000;

/** A call's fate: run it (with whose policy let it, for the audit log), or not, with what the model is told. */
/** Whether a call runs: whose policy let it (a hop's), and whether a person said yes to it; or why not. */
export type CallDecision = { run: true; policyFrom?: string; asked?: true } | { run: false; reason?: string };

/** Whether a tool call may run; the room asks its policy and the user. `false` means the user said no. */
export type ApproveCall = (call: ToolCall) => Promise<boolean | CallDecision>;

/**
 * What one reply's tool loop may use and spend. Listed once: `runWithTools` takes it (with defaults for the
 * bounds) and a persona's `ReplyHost` (personas/reply-host.ts) carries it, filled in by the room.
 */
export type ToolLoopAllowance = {
  tools: ReadonlyMap<string, AnyTool>;
  toolContext: Omit<CallContext, "signal">;
  /** Whether a call may run (left out of a `runWithTools` request: every call runs). */
  approve: ApproveCall;
  /**
   * Told of a result that carries words from outside (a page's) before the next call is decided: the room then puts the
   * persona's calls that act to the person (docs/browser.md, "A page's words").
   */
  onOutsideWords?: (words: OutsideWords, tool: string) => void;
  /** Tool rounds this reply may take; checked before each LLM call. Default 8. */
  maxRounds: number;
  /** Tool calls this reply may make; calls beyond it are not run and the model is told. Default 32. */
  maxToolCalls: number;
  /** Characters (text, reasoning and tool-call arguments, over all rounds) this reply may stream. Default 200 000. */
  maxReplyChars: number;
  /** The session's token budget, checked before each LLM call. */
  budget: Budget;
  /** Seconds of tool time (each call's timeout) the user's turn has left; shared by the turn's replies. */
  toolTime: ToolTimeBudget;
};
