import { isTokenCount } from "../llm/token-count.ts";

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
 * The session's token budget, checked before every LLM call (docs/ARCHITECTURE.md, invariant 5). One Budget lives as long as a
 * session and is shared by every reply; the tool rounds of one reply are counted by the `TurnBudget` that
 * `startTurn` hands out, so concurrent replies do not share a counter.
 */
export class Budget {
  readonly maxSessionTokens: number;
  #tokensUsed = 0;

  constructor(limits: { maxSessionTokens?: number } = {}) {
    this.maxSessionTokens = limits.maxSessionTokens ?? Number.POSITIVE_INFINITY;
  }

  get tokensUsed(): number {
    return this.#tokensUsed;
  }

  /** Begins one reply's tool loop: its tool rounds count from zero, the session's tokens go on. */
  startTurn(limits: { maxToolRounds: number }): TurnBudget {
    return new TurnBudget(this, limits.maxToolRounds);
  }

  /** Throws BudgetExceededError when the session cannot afford another LLM call. */
  checkTokens(): void {
    if (this.#tokensUsed >= this.maxSessionTokens) {
      throw new BudgetExceededError(
        "session-tokens",
        `the session's token budget is spent (${this.#tokensUsed} of ${this.maxSessionTokens} tokens). Start ` +
          `a new session or raise limits.sessionTokens in org.config.json.`,
      );
    }
  }

  /**
   * Adds what a completion reported (or an estimate). A count that is negative, NaN or infinite is no count:
   * it would lower the total or make every comparison false and so switch the budget off; it counts as 0 here
   * (callers estimate from the text instead).
   */
  recordUsage(usage: TokenUsage): void {
    const prompt = isTokenCount(usage.promptTokens) ? usage.promptTokens : 0;
    const completion = isTokenCount(usage.completionTokens) ? usage.completionTokens : 0;
    this.#tokensUsed += prompt + completion;
  }
}

/** One reply's share of the budget: the session's tokens and this reply's tool rounds. */
export class TurnBudget {
  #toolRounds = 0;

  constructor(
    readonly session: Budget,
    readonly maxToolRounds: number,
  ) {}

  /** Tool rounds (model turns whose tool calls ran) so far in this reply. */
  get toolRounds(): number {
    return this.#toolRounds;
  }

  /** Counts a round whose tool calls ran; the next LLM call is checked against it. */
  recordToolRound(): void {
    this.#toolRounds += 1;
  }

  /** Throws BudgetExceededError when the next LLM call would exceed the session's tokens or this reply's rounds. */
  beforeModelCall(): void {
    this.session.checkTokens();
    if (this.#toolRounds >= this.maxToolRounds) {
      throw new BudgetExceededError(
        "tool-rounds",
        `stopped after ${this.maxToolRounds} tool rounds without a final answer. Ask again to let the model ` +
          `continue, or raise limits.toolRoundsPerTurn in org.config.json.`,
      );
    }
  }
}
