/**
 * The seconds of tool time one user turn may spend, shared by every reply of the turn. Each call is charged
 * its timeout up front (what it may cost, not what it took), so a thousand long calls cannot queue up hours
 * of sandbox time before anything stops them.
 */
export class ToolTimeBudget {
  #spentSeconds = 0;

  constructor(readonly maxSeconds: number) {}

  get spentSeconds(): number {
    return this.#spentSeconds;
  }

  /** Why a call of `seconds` cannot run now, or undefined when it fits. */
  refusal(seconds: number): string | undefined {
    if (this.#spentSeconds + seconds <= this.maxSeconds) return undefined;
    return (
      `this turn's tool time is spent (${round(this.#spentSeconds)} of ${this.maxSeconds} s, each call ` +
      `counted at its timeout_s; limits.toolSecondsPerTurn in org.config.json). This call would add ` +
      `${round(seconds)} s. Answer with what you have; the user can ask again to go on.`
    );
  }

  /** Charges a call that is about to run; returns the refusal instead when it no longer fits. */
  charge(seconds: number): string | undefined {
    const refusal = this.refusal(seconds);
    if (refusal === undefined) this.#spentSeconds += seconds;
    return refusal;
  }
}

const round = (seconds: number) => Math.round(seconds * 10) / 10;
