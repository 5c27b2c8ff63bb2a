/** Why a tool loop (`runWithTools`) ended without its final answer; each reaches the room and `org chat --once`. */
export const LOOP_STOP_REASONS = ["max-rounds", "repeated-call", "reply-chars"] as const;
export type LoopStopReason = (typeof LOOP_STOP_REASONS)[number];
