import { z } from "zod";
import { ToolPolicy } from "./tool-policy.ts";

/** How `serve` answers over HTTP. */
export const ServeEntry = z.strictObject({
  /** Policy per tool name for `POST /v1/tools/:name/run`; a tool not listed is "ask", which nobody can answer over HTTP. */
  tools: z.record(z.string().regex(/^[a-z][a-z0-9_]{1,47}$/, "a tool name: snake_case, 2–48 characters"), ToolPolicy).optional(),
  /** Policy over HTTP for a generated tool `tools` does not name (default "ask"); "allow" lets the fitness gate run every tool's examples on both
   * instances.
   */
  generatedTools: ToolPolicy.optional(),
  /** Room turns (and HTTP tool runs) the server runs at once, across sessions. */
  turns: z.int().min(1).max(256).optional(),
  /** Requests that may wait for a turn; past that the server answers 429. */
  queue: z.int().min(0).max(10_000).optional(),
  /** How long a persona's "ask" waits for an answer from someone watching the session's event stream, in seconds. */
  approvalTimeoutS: z.int().min(1).max(86_400).optional(),
  /**
   * Event streams of one session open at once (`GET /v1/sessions/:id/events`), and of the web room's views across the
   * server (`GET /v1/web/updates`); the next is 429 until one closes.
   */
  streamsPerSession: z.int().min(1).max(1_000).optional(),
  /** The largest request body accepted, in bytes. */
  maxBodyBytes: z
    .int()
    .min(1_024)
    .max(16 * 1024 * 1024)
    .optional(),
  /** How `POST /v1/jobs` retries a job whose model call failed for a transient reason (serve/README.md, "Retries"). */
  jobs: z
    .strictObject({
      /** The first retry's delay ceiling, in ms; each next one doubles it (full jitter: a random delay up to it). */
      retryMinDelayMs: z.int().min(0).max(3_600_000).optional(),
      /** The largest delay ceiling, in ms. */
      retryMaxDelayMs: z.int().min(0).max(86_400_000).optional(),
      /** Runs of a job at most, the first included: 1 turns retries off. */
      maxAttempts: z.int().min(1).max(100).optional(),
    })
    .optional(),
});
/** `serve.jobs` with its defaults filled in. */
export type JobRetrySettings = { retryMinDelayMs: number; retryMaxDelayMs: number; maxAttempts: number };
export type ServeSettings = Required<Omit<z.infer<typeof ServeEntry>, "jobs">> & { jobs: JobRetrySettings };

export const DEFAULT_JOB_RETRY: JobRetrySettings = { retryMinDelayMs: 1_000, retryMaxDelayMs: 60_000, maxAttempts: 4 };

// Generated tools run over HTTP unless the config says otherwise: each was validated, runs only in the sandbox
// through the fixed runner (no network, no workspace), and the gate compares their examples on both instances.
export const DEFAULT_SERVE: ServeSettings = {
  tools: {},
  generatedTools: "allow",
  turns: 16,
  queue: 256,
  approvalTimeoutS: 600,
  streamsPerSession: 8,
  maxBodyBytes: 64 * 1024,
  jobs: DEFAULT_JOB_RETRY,
};
