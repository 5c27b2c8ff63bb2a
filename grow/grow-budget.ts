import { isTokenCount } from "../llm/token-count.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { wrapModel } from "../llm/wrap-model.ts";

/**
 * What one run may spend: wall time, model tokens, tools built. `graceMs`: how long a step under way when the wall
 * time runs out may go on before it is cancelled (a quarter of the budget, at least a minute, when not given).
 */
export type GrowLimits = { budgetMs: number; maxTokens: number; maxTools: number; graceMs?: number };

/** What a run spent, and what stopped it when something did. */
export type BudgetSpent = {
  wallMs: number;
  budgetMs: number;
  tokens: number;
  maxTokens: number;
  tools: number;
  maxTools: number;
  /** Time the model servers took answering the builds (part of wallMs). */
  modelMs: number;
  /** The bound that stopped the run's builds, when one did. */
  stoppedBy?: "time" | "tokens" | "tools";
};

/** A step under way when the wall-time budget ends gets this share of the budget more (at least a minute), then is cancelled. */
const GRACE_SHARE = 0.25;
const MIN_GRACE_MS = 60_000;

/**
 * A run's budget: `check()` before each step says which bound is reached, if any; `model()` wraps the toolsmith's
 * model so every completion's tokens (the server's usage, else about four characters a token) and time count;
 * `stepSignal()` is the run's signal, aborted once a step overruns the wall-time budget by its grace.
 */
export class GrowBudget {
  readonly #started = performance.now();
  #tokens = 0;
  #tools = 0;
  #modelMs = 0;
  #stoppedBy: BudgetSpent["stoppedBy"];

  constructor(readonly limits: GrowLimits) {}

  /** The bound reached, if any: no further step starts once one is. */
  check(): BudgetSpent["stoppedBy"] {
    const reached =
      this.#tools >= this.limits.maxTools
        ? "tools"
        : this.#tokens >= this.limits.maxTokens
          ? "tokens"
          : performance.now() - this.#started >= this.limits.budgetMs
            ? "time"
            : undefined;
    if (reached && !this.#stoppedBy) this.#stoppedBy = reached;
    return reached;
  }

  /** A step was cancelled past the wall-time budget's grace: the time budget stopped the run. */
  overran(): void {
    this.#stoppedBy ??= "time";
  }

  /** Counts a build started. */
  countTool(): void {
    this.#tools += 1;
  }

  /** The run's signal for one step: `signal`, or the wall-time budget past its grace. */
  stepSignal(signal: AbortSignal): AbortSignal {
    const grace = this.limits.graceMs ?? Math.max(MIN_GRACE_MS, this.limits.budgetMs * GRACE_SHARE);
    const left = this.limits.budgetMs + grace - (performance.now() - this.#started);
    return AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, left))]);
  }

  /** `model`, counting the tokens and time of every completion. */
  model(model: LanguageModel): LanguageModel {
    return wrapModel(model, {
      wrapStream: async ({ request, doStream }) => {
        const started = performance.now();
        try {
          const completion = await doStream();
          const usage = completion.usage;
          // The server's count when it gave a sound one; else about four characters a token of what went and came.
          this.#tokens +=
            usage && isTokenCount(usage.promptTokens) && isTokenCount(usage.completionTokens)
              ? usage.promptTokens + usage.completionTokens
              : Math.ceil((JSON.stringify(request.messages).length + completion.content.length + JSON.stringify(completion.toolCalls).length) / 4);
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
