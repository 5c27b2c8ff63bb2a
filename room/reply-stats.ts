import type { Usage } from "../llm/chat-types.ts";
import type { PersonaStats } from "./room-event.ts";

/** The shortest stretch of streaming a tokens-per-second figure is computed over. */
const MIN_RATE_SECONDS = 0.25;

/** Figures of nothing yet. */
export const emptyStats = (): PersonaStats => ({
  replies: 0,
  promptTokens: 0,
  completionTokens: 0,
  tokensPerSecond: 0,
  firstTokenMs: null,
  queuedMs: 0,
  durationMs: 0,
});

/** Adds one reply's figures to a persona's turn figures. */
export function addStats(total: PersonaStats, reply: PersonaStats): void {
  const streamingSeconds = (stats: PersonaStats) => (stats.tokensPerSecond > 0 ? stats.completionTokens / stats.tokensPerSecond : 0);
  const seconds = streamingSeconds(total) + streamingSeconds(reply);
  total.replies += reply.replies;
  total.promptTokens += reply.promptTokens;
  total.completionTokens += reply.completionTokens;
  total.tokensPerSecond = seconds > 0 ? Math.round((total.completionTokens / seconds) * 10) / 10 : 0;
  total.firstTokenMs ??= reply.firstTokenMs;
  total.queuedMs += reply.queuedMs;
  total.durationMs += reply.durationMs;
}

/**
 * One reply's figures as it runs: first visible output, queueing, usage, and the streaming rate. The rate counts
 * only the stretches from a request's first output to its last: tool runs, and the waits after them for the
 * model's next request, are latency, not speed; and a request that showed one chunk has no stretch at all, so a
 * reply of single chunks has no rate however slow the machine.
 */
export class ReplyStatsRecorder {
  readonly #now: () => number;
  readonly #started: number;
  #firstTokenAt: number | undefined;
  /** The open stretch of output since the last tool ran, if the model has shown any. */
  #stretch: { from: number; to: number } | undefined;
  #streamingMs = 0;
  readonly #stats: PersonaStats = { ...emptyStats(), replies: 1 };

  /** `now` is the clock in milliseconds; tests pass their own. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#started = now();
  }

  /** Whether the reply has shown anything yet. */
  get visible(): boolean {
    return this.#firstTokenAt !== undefined;
  }

  /** The reply showed output (text, reasoning or a tool call). */
  sawOutput(): void {
    const now = this.#now();
    if (this.#stretch === undefined) this.#stretch = { from: now, to: now };
    else this.#stretch.to = now;
    if (this.#firstTokenAt !== undefined) return;
    this.#firstTokenAt = now;
    this.#stats.firstTokenMs = Math.round(now - this.#started);
  }

  queued(ms: number): void {
    this.#stats.queuedMs += Math.round(ms);
  }

  /** A tool ran: the model's request before it is over, and what comes next is a new request. */
  toolRan(): void {
    this.#closeStretch();
  }

  #closeStretch(): void {
    if (this.#stretch === undefined) return;
    this.#streamingMs += this.#stretch.to - this.#stretch.from;
    this.#stretch = undefined;
  }

  usage(usage: Usage): void {
    this.#stats.promptTokens += usage.promptTokens;
    this.#stats.completionTokens += usage.completionTokens;
  }

  get completionTokens(): number {
    return this.#stats.completionTokens;
  }

  /** The reply's figures, with duration and rate as of now. */
  finish(): PersonaStats {
    this.#stats.durationMs = Math.round(this.#now() - this.#started);
    const open = this.#stretch === undefined ? 0 : this.#stretch.to - this.#stretch.from;
    const streamingSeconds = (this.#streamingMs + open) / 1000;
    // A reply that came in one or two chunks has no speed worth showing (it would read as thousands a second).
    this.#stats.tokensPerSecond = streamingSeconds >= MIN_RATE_SECONDS ? Math.round((this.#stats.completionTokens / streamingSeconds) * 10) / 10 : 0;
    return { ...this.#stats };
  }
}
