import { z } from "zod";

/** The room's limits; `org.config.json` may set any of them. */
export const OrgLimits = z.strictObject({
  /** Tokens (prompt + completion) a session may spend, checked before every LLM call. */
  sessionTokens: z.int().positive(),
  /** Tool rounds one persona may take in one reply. */
  toolRoundsPerTurn: z.int().min(1).max(100),
  /** Model-to-model hops after one user message (0: models never answer each other). */
  hopsPerMessage: z.int().min(0).max(50),
  /** Replies one persona may give after one user message before it must wait for the user. */
  repliesInARow: z.int().min(1).max(50),
  /** Concurrent requests per model server unless `servers` says otherwise (a stock Ollama serves 1). */
  concurrencyPerServer: z.int().min(1).max(64),
  /** Tool calls one reply may make; calls beyond it are not run and the model is told. */
  toolCallsPerReply: z.int().min(1).max(1000),
  /** Seconds of tool time one user message may spend, each call counted at its timeout. */
  toolSecondsPerTurn: z.number().positive().max(86_400),
  /** Beyond this many promoted generated tools, a persona is offered the best this many for each message, and find_tool. */
  generatedToolsPerTurn: z.int().min(1).max(128),
  /** Characters one reply may stream (text, reasoning and tool-call arguments); the reply is cut there and says so. */
  replyChars: z.int().min(1).max(100_000_000),
  /** Step runs one workflow run may make in all (foreach bodies count once per item); more is refused or stopped. */
  workflowStepRuns: z.int().min(1).max(10_000_000),
  /** Bytes of any one file a workspace change may carry; a larger one refuses the change whole. */
  patchBytes: z
    .int()
    .min(1)
    .max(1024 * 1024 * 1024),
  /** Files one workspace change may touch; more refuses it whole. */
  patchFiles: z.int().min(1).max(100_000),
  /** Tokens every session of the workspace may spend in one day (from 00:00 UTC), checked before every LLM call; none when unset. */
  tokensPerDay: z.int().positive().optional(),
});
export type OrgLimits = z.infer<typeof OrgLimits>;

export const DEFAULT_LIMITS: OrgLimits = {
  sessionTokens: 1_000_000,
  toolRoundsPerTurn: 8,
  hopsPerMessage: 3,
  repliesInARow: 2,
  concurrencyPerServer: 1,
  toolCallsPerReply: 32,
  toolSecondsPerTurn: 600,
  generatedToolsPerTurn: 8,
  replyChars: 200_000,
  workflowStepRuns: 10_000,
  patchBytes: 1024 * 1024,
  patchFiles: 200,
};
