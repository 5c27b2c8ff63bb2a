/** Tokens one completion used, as the server reported them or as estimated. */
type TokenUsage = { promptTokens: number; completionTokens: number };

/** A budget ran out; the message says which one and how to raise it. */
export class BudgetExceededError extends Error {
  override name = "BudgetExceededError";
  constructor(
    readonly budget: "session-tokens" | "tool-rounds",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Limits on what a session may spend, checked before every LLM call (invariant 5).
 * One Budget lives as long as a session; `startTurn` resets the per-turn counters.
 */
export class Budget {
  readonly maxSessionTokens: number;
  readonly maxToolRoundsPerTurn: number;
  #tokensUsed = 0;
  #roundsThisTurn = 0;

  constructor(limits: { maxSessionTokens?: number; maxToolRoundsPerTurn?: number } = {}) {
    this.maxSessionTokens = limits.maxSessionTokens ?? Number.POSITIVE_INFINITY;
    this.maxToolRoundsPerTurn = limits.maxToolRoundsPerTurn ?? 8;
  }

  get tokensUsed(): number {
    return this.#tokensUsed;
  }

  /** Begins a new user turn: tool rounds count from zero again. */
  startTurn(): void {
    this.#roundsThisTurn = 0;
  }

  /** Throws BudgetExceededError when the next LLM call would exceed a limit; otherwise counts the call. */
  beforeModelCall(): void {
    if (this.#tokensUsed >= this.maxSessionTokens) {
      throw new BudgetExceededError(
        "session-tokens",
        `the session's token budget is spent (${this.#tokensUsed} of ${this.maxSessionTokens} tokens). Start a new session or raise limits.sessionTokens in org.config.json.`,
      );
    }
    if (this.#roundsThisTurn > this.maxToolRoundsPerTurn) {
      throw new BudgetExceededError(
        "tool-rounds",
        `this turn used its ${this.maxToolRoundsPerTurn} tool rounds. Ask again to continue, or raise limits.toolRoundsPerTurn in org.config.json.`,
      );
    }
    this.#roundsThisTurn += 1;
  }

  /** Adds what a completion reported (or an estimate when the server sent no usage). */
  recordUsage(usage: TokenUsage): void {
    this.#tokensUsed += usage.promptTokens + usage.completionTokens;
  }
}
