import type { JobRetrySettings } from "../config/serve-settings.ts";
import type { RoomEvent } from "../room/room-event.ts";

/** One run of a job as its record keeps it: when, how it ended and, when it is retried, the delay chosen. */
export type JobAttempt = {
  attempt: number;
  startedAt: number;
  finishedAt: number;
  ok: boolean;
  /** The error's kind (`unreachable`, `http`, `internal`, …) for a failed run. */
  kind?: string;
  message?: string;
  /** Whether the model call failed for a transient reason (`llm/chat-errors.ts` decides it). */
  retryable?: boolean;
  /** Milliseconds waited before the next run, and when that run is due: only on a run that is retried. */
  delayMs?: number;
  retryAt?: number;
};

/** Why a failed run failed, read from its events; `retryable` only when every error it had was transient. */
export type JobFailure = { kind: string; message: string; retryable: boolean; retryAfterMs?: number };

const MESSAGE_LIMIT = 300;

/** Events that show a run acted (a tool called, a change applied): running its message again would act twice. */
const ACTED: ReadonlySet<RoomEvent["type"]> = new Set(["tool-call", "tool-result", "change-applied"]);

/**
 * What a failed run's events say: its errors, transient only when each said so (a model server busy, down or
 * rate-limiting) and there was at least one, and only while the run had not acted yet: a retry sends the message
 * again from the start, so a run whose tools already ran (a command, a request, a change) is not retried.
 * A run with no error event (a budget, a refused mode) is permanent.
 */
export function jobFailure(events: readonly RoomEvent[]): JobFailure {
  const errors = events.flatMap((event) => (event.type === "error" ? [event] : []));
  const first = errors[0];
  if (first === undefined) return { kind: "turn-failed", message: "the turn ended without success.", retryable: false };
  const acted = events.some((event) => ACTED.has(event.type));
  const retryable = !acted && errors.every((error) => error.retryable === true);
  const retryAfter = Math.max(0, ...errors.map((error) => error.retryAfterMs ?? 0));
  const message = first.message.length > MESSAGE_LIMIT ? `${first.message.slice(0, MESSAGE_LIMIT)}…` : first.message;
  return { kind: first.kind ?? "error", message, retryable, ...(retryable && retryAfter > 0 ? { retryAfterMs: retryAfter } : {}) };
}

/**
 * The delay before run `attempt + 1`, after run `attempt` (1-based) failed: exponential backoff with full jitter
 * (a random delay up to min(max, min × 2^(attempt−1))), never less than a server's Retry-After (itself capped at
 * the largest delay).
 */
export function jobRetryDelay(attempt: number, settings: JobRetrySettings, random: () => number, retryAfterMs?: number): number {
  const largest = Math.max(settings.retryMinDelayMs, settings.retryMaxDelayMs);
  const ceiling = Math.min(largest, settings.retryMinDelayMs * 2 ** Math.min(Math.max(0, attempt - 1), 40));
  const jittered = Math.floor(Math.min(1, Math.max(0, random())) * ceiling);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, largest));
}
