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
 * One reply's figures as it runs: first visible output, queueing, usage, and the streaming rate, which leaves out
 * tool runs and the waits after them for the model to answer again (a new request's latency, not its speed).
 */
export class ReplyStatsRecorder {
  readonly #started = performance.now();
  #firstTokenAt: number | undefined;
  /** Tool runs, and the waits after them for the model's next output: no part of the model's streaming speed. */
  #notStreamingMs = 0;
  /** When the last tool result came, until the model shows output again. */
  #waitingSince: number | undefined;
  readonly #stats: PersonaStats = { ...emptyStats(), replies: 1 };

  /** Whether the reply has shown anything yet. */
  get visible(): boolean {
    return this.#firstTokenAt !== undefined;
  }

  /** The reply showed output (text, reasoning or a tool call). */
  sawOutput(): void {
    if (this.#waitingSince !== undefined) {
      this.#notStreamingMs += performance.now() - this.#waitingSince;
      this.#waitingSince = undefined;
    }
    if (this.#firstTokenAt !== undefined) return;
    this.#firstTokenAt = performance.now();
    this.#stats.firstTokenMs = Math.round(this.#firstTokenAt - this.#started);
  }

  queued(ms: number): void {
    this.#stats.queuedMs += Math.round(ms);
  }

  toolRan(ms: number): void {
    this.#notStreamingMs += ms;
    this.#waitingSince = performance.now();
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
    const end = performance.now();
    this.#stats.durationMs = Math.round(end - this.#started);
    const waiting = this.#waitingSince === undefined ? 0 : end - this.#waitingSince;
    const streamingSeconds = this.#firstTokenAt === undefined ? 0 : (end - this.#firstTokenAt - this.#notStreamingMs - waiting) / 1000;
    // A reply that came in one or two chunks has no speed worth showing (it would read as thousands a second).
    this.#stats.tokensPerSecond = streamingSeconds >= MIN_RATE_SECONDS ? Math.round((this.#stats.completionTokens / streamingSeconds) * 10) / 10 : 0;
    return { ...this.#stats };
  }
}
