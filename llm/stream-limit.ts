/** Why a stream was cut before the model finished: the reply's size limit or the session's token budget. */
export type ReplyLimitStop = { reason: "reply-chars" | "budget"; message: string };

/** Cuts the stream once the reply's characters or the session's tokens are spent. */
export class StreamLimit {
  reached: ReplyLimitStop | undefined;
  #received = 0;
  constructor(
    private readonly maxChars: number,
    private readonly maxTokens: number,
  ) {}

  /** How much of `length` more characters may be taken; sets `reached` once a limit is hit. */
  take(length: number): number {
    if (this.reached) return 0;
    const allowed = Math.max(0, Math.min(length, this.maxChars - this.#received));
    this.#received += allowed;
    if (allowed < length) {
      this.reached = {
        reason: "reply-chars",
        message: `the reply was stopped at ${this.maxChars} characters (limits.replyChars in org.config.json); what came before is kept.`,
      };
    } else if (Math.ceil(this.#received / 4) > this.maxTokens) {
      this.reached = {
        reason: "budget",
        message:
          `the reply was stopped mid-stream: it would spend more than the ${this.maxTokens} tokens ` +
          `left in the session's budget (limits.sessionTokens in org.config.json). Start a new session or raise the limit.`,
      };
    }
    return allowed;
  }
}
