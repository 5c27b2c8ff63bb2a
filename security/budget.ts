import { isTokenCount } from "../llm/token-count.ts";
import { OrgError } from "../errors/org-error.ts";

/** Tokens one completion used, as the server reported them or as estimated. */
type TokenUsage = { promptTokens: number; completionTokens: number };

/** A budget ran out; the message says which one and how to raise it. */
export class BudgetExceededError extends OrgError {
  override name = "BudgetExceededError";
  constructor(
    readonly budget: "session-tokens" | "day-tokens" | "tool-rounds",
    message: string,
  ) {
    super(message);
  }
}

/**
 * The workspace's daily token limit (`limits.tokensPerDay`): `usedToday` reads what every session of the workspace used
 * since 00:00 UTC (its transcripts); it is read again when the day turns or `rereadMs` passed, and what this budget
 * recorded since the last read is added to it, so the check before each call costs no read of every transcript.
 */
export type DailyTokens = { limit: number; usedToday: () => number; now?: () => number; rereadMs?: number };

const DAY_MS = 86_400_000;
const REREAD_MS = 30_000;

/**
 * The session's token budget, checked before every LLM call (docs/ARCHITECTURE.md, invariant 5). One Budget lives as long as a
 * session and is shared by every reply; the tool rounds of one reply are counted by the `TurnBudget` that
 * `startTurn` hands out, so concurrent replies do not share a counter.
 */
export class Budget {
  readonly maxSessionTokens: number;
  readonly daily: DailyTokens | undefined;
  #tokensUsed = 0;
  /** The last read of the day's use: when, which UTC day, what it said, and this budget's count then. */
  #dayRead: { at: number; day: number; used: number; ownThen: number } | undefined;

  constructor(limits: { maxSessionTokens?: number; daily?: DailyTokens } = {}) {
    this.maxSessionTokens = limits.maxSessionTokens ?? Number.POSITIVE_INFINITY;
    this.daily = limits.daily;
  }

  /** Tokens every session of the workspace used today, as far as this budget knows now; undefined without a daily limit. */
  usedToday(): number | undefined {
    const daily = this.daily;
    if (!daily) return undefined;
    const now = (daily.now ?? Date.now)();
    const day = Math.floor(now / DAY_MS);
    const read = this.#dayRead;
    if (!read || read.day !== day || now - read.at >= (daily.rereadMs ?? REREAD_MS)) {
      this.#dayRead = { at: now, day, used: daily.usedToday(), ownThen: this.#tokensUsed };
      return this.#dayRead.used;
    }
    return read.used + (this.#tokensUsed - read.ownThen);
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
    const today = this.usedToday();
    if (this.daily && today !== undefined && today >= this.daily.limit) {
      throw new BudgetExceededError(
        "day-tokens",
        `today's token budget is spent (${today} of ${this.daily.limit} tokens since 00:00 UTC, every session of this ` +
          `workspace). Wait until 00:00 UTC or raise limits.tokensPerDay in org.config.json.`,
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
