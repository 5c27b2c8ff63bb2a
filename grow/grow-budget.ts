import { isTokenCount } from "../llm/token-count.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { wrapModel } from "../llm/wrap-model.ts";

/**
 * What one run may spend: wall time, model tokens, tools built. `minBuildMs`: the time left below which no build
 * starts (a build cut by the deadline is work thrown away; default MIN_BUILD_MS).
 */
export type GrowLimits = { budgetMs: number; maxTokens: number; maxTools: number; minBuildMs?: number };

/** The bounds a budget has: what stopped a run's builds, when one did. */
export type BudgetBound = "time" | "tokens" | "tools";

/** What a run spent, and what stopped it when something did. */
export type BudgetSpent = {
  wallMs: number;
  budgetMs: number;
  tokens: number;
  maxTokens: number;
  tools: number;
  maxTools: number;
  /** Time the model servers took answering (part of wallMs): noticing, merging and the builds. */
  modelMs: number;
  /** The bound that stopped the run's builds, when one did. */
  stoppedBy?: BudgetBound;
};

/** A build needs at least this much of the time budget left to be started: less is never enough for the toolsmith and the gate. */
export const MIN_BUILD_MS = 30_000;

/** The budget ran out: what a step cut by it was aborted with. */
export class BudgetReachedError extends Error {
  override name = "BudgetReachedError";
  constructor(readonly bound: BudgetBound) {
    super(`the ${bound} budget was reached`);
  }
}

/** About four characters a token: what is counted while a completion streams, and when a server gives no sound usage. */
const tokensOf = (chars: number) => Math.ceil(chars / 4);

/**
 * A run's budget over the whole run: `deadline()` is the run's signal, aborted once the wall time is up or the tokens
 * are spent (every model call and every build runs under it); `check()` before each build says which bound is reached;
 * `model()` wraps a model so that every completion counts, its stream cut where the tokens run out.
 */
export class GrowBudget {
  readonly #started = performance.now();
  readonly #exhausted = new AbortController();
  readonly #timer: AbortSignal;
  #tokens = 0;
  #tools = 0;
  #modelMs = 0;
  #stoppedBy: BudgetBound | undefined;

  constructor(readonly limits: GrowLimits) {
    this.#timer = AbortSignal.timeout(Math.max(1, limits.budgetMs));
  }

  /** Milliseconds of wall time left (0 once it is spent). */
  timeLeftMs(): number {
    return Math.max(0, this.limits.budgetMs - (performance.now() - this.#started));
  }

  /** The bound reached, if any: no further build starts once one is. */
  check(): BudgetBound | undefined {
    const reached =
      this.#tools >= this.limits.maxTools ? "tools" : this.#tokens >= this.limits.maxTokens ? "tokens" : this.timeLeftMs() <= 0 ? "time" : undefined;
    if (reached) this.#stoppedBy ??= reached;
    return reached;
  }

  /** Whether the time left is too little for a build to be started (said as the time budget stopping the run). */
  tooLittleTimeForABuild(): boolean {
    const short = this.timeLeftMs() < (this.limits.minBuildMs ?? MIN_BUILD_MS);
    if (short) this.#stoppedBy ??= "time";
    return short;
  }

  /** A step was cut by the deadline: the bound that cut it (time, or tokens). */
  cut(): BudgetBound {
    const bound = this.#exhausted.signal.aborted ? "tokens" : "time";
    this.#stoppedBy ??= bound;
    return bound;
  }

  /** Counts a build started. */
  countTool(): void {
    this.#tools += 1;
  }

  /** `signal`, or the budget's end (wall time or tokens), whichever comes first. */
  deadline(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.#timer, this.#exhausted.signal]);
  }

  #exhaust(): void {
    this.#stoppedBy ??= "tokens";
    if (!this.#exhausted.signal.aborted) this.#exhausted.abort(new BudgetReachedError("tokens"));
  }

  /** `model`, counting the tokens and time of every completion, and cutting a stream once the run's tokens are spent. */
  model(model: LanguageModel): LanguageModel {
    return wrapModel(model, {
      // The request goes on with the run's tokens as its cut and the budget's end in its signal.
      wrapStream: async ({ request, model: inner }) => {
        const prompt = tokensOf(JSON.stringify(request.messages).length);
        const left = this.limits.maxTokens - this.#tokens - prompt;
        if (left <= 0) this.#exhaust();
        const signal = AbortSignal.any([...(request.signal ? [request.signal] : []), this.#exhausted.signal]);
        const tokens = Math.max(0, Math.min(left, request.stopAt?.tokens ?? Number.POSITIVE_INFINITY));
        const started = performance.now();
        try {
          const completion = await inner.stream({ ...request, signal, stopAt: { ...request.stopAt, tokens } });
          const usage = completion.usage;
          // The server's count when it gave a sound one; else about four characters a token of what went and came.
          this.#tokens +=
            usage && isTokenCount(usage.promptTokens) && isTokenCount(usage.completionTokens)
              ? usage.promptTokens + usage.completionTokens
              : prompt + tokensOf(completion.content.length + completion.reasoning.length + JSON.stringify(completion.toolCalls).length);
          if (completion.limitReached?.reason === "budget" || this.#tokens >= this.limits.maxTokens) this.#exhaust();
          return completion;
        } finally {
          this.#modelMs += performance.now() - started;
        }
      },
    });
  }

  spent(): BudgetSpent {
    return {
      wallMs: Math.round(performance.now() - this.#started),
      budgetMs: this.limits.budgetMs,
      tokens: this.#tokens,
      maxTokens: this.limits.maxTokens,
      tools: this.#tools,
      maxTools: this.limits.maxTools,
      modelMs: Math.round(this.#modelMs),
      ...(this.#stoppedBy ? { stoppedBy: this.#stoppedBy } : {}),
    };
  }
}
