import { sleep } from "../concurrency/sleep.ts";
import { DEFAULT_JOB_RETRY, type JobRetrySettings } from "../config/serve-settings.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { HttpError } from "./http-error.ts";
import { type JobAttempt, type JobFailure, jobFailure, jobRetryDelay } from "./job-retry.ts";
import type { AcceptedJob, JobsLog, RememberedRequest } from "./jobs-log.ts";

export type JobState = "queued" | "running" | "done" | "failed";

/** One job as the server holds it: its events so far, and who waits for more. */
type Job = AcceptedJob & {
  state: JobState;
  events: RoomEvent[];
  listeners: Set<() => void>;
  sessionId?: string;
  attempts: JobAttempt[];
  /** When the next run is due, while the job waits to be retried. */
  retryAt?: number;
};

/** A job as `GET /v1/jobs/:id` answers it. */
export type JobView = { id: string; state: JobState; events: RoomEvent[]; session?: string; attempts: JobAttempt[]; retryAt?: number };

/** Runs one job's turn, handing each room event to `onEvent`; `ok` is the turn's. */
export type RunJob = (job: AcceptedJob, onEvent: (event: RoomEvent) => void, signal: AbortSignal) => Promise<{ ok: boolean; sessionId?: string }>;

export type JobsQueueOptions = {
  log: JobsLog;
  run: RunJob;
  /** Jobs run at once (`serve --workers`). */
  workers: number;
  /** Seconds a request_id returns the job it made. */
  dedupTtlS: number;
  /** Seconds a finished job and its result are kept (ORG_SERVE_JOB_TTL_S, default a day); then GET is 404. */
  ttlS?: number;
  /** Jobs that may wait (ORG_SERVE_JOB_QUEUE_MAX, default 1000); past that a POST is 429 with Retry-After. */
  maxQueued?: number;
  /** Bytes of log past which it is rewritten with only what it still needs, once dead lines outnumber live ones (default 1 MiB). */
  compactAboveBytes?: number;
  logError: (line: string) => void;
  now?: () => number;
  /** Retries of a run that failed for a transient reason (`serve.jobs`); default 4 runs, 1 s doubling to 60 s. */
  retry?: JobRetrySettings;
  /** The jitter's source (default Math.random). */
  random?: () => number;
  /** Waits before a retry (default a timer); returns early when the signal aborts. Tests pass one that does not wait. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
};

const KEEP_ALIVE_MS = 15_000;
export const DEFAULT_JOB_TTL_S = 86_400;
export const DEFAULT_JOB_QUEUE_MAX = 1_000;
export const DEFAULT_COMPACT_ABOVE_BYTES = 1024 * 1024;

function textHash(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

function newJobId(now: number): string {
  return `job-${now.toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Serve's jobs: accepted into the write-ahead log before the answer, run by a fixed number of workers in
 * order of arrival, each finished job's result written once. After a restart, accepted jobs without a result
 * run again; finished ones answer from their result until it expires (`ttlS`). Bounded: at most `maxQueued`
 * jobs wait, and the log is compacted while serve runs, whenever dead lines outnumber the live ones.
 */
export class JobsQueue {
  #jobs = new Map<string, Job>();
  #queue: Job[] = [];
  #wake: (() => void) | undefined;
  #byRequest = new Map<string, Omit<RememberedRequest, "requestId">>();
  /** Finished jobs in order of expiry (they finish in order; those found at start are sorted by mtime). */
  #finished: { id: string; expiresAt: number }[] = [];
  #stop = new AbortController();
  #workers: Promise<void>[] = [];
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** Seconds a job took to run, smoothed: what a 429's Retry-After is made of. */
  #runS = 1;
  readonly #now: () => number;
  readonly #ttlMs: number;

  constructor(readonly options: JobsQueueOptions) {
    this.#now = options.now ?? Date.now;
    this.#ttlMs = (options.ttlS ?? DEFAULT_JOB_TTL_S) * 1000;
  }

  /** Reads the log: finished jobs keep their result, the others wait to run again. Then starts the workers and the expiry. */
  start(): void {
    const { log } = this.options;
    log.sweep();
    const now = this.#now();
    const { accepted, done, requests } = log.read();
    const unsealed: string[] = [];
    for (const job of accepted) {
      // Finished jobs stay on disk only; GET reads their result file when asked.
      const hasResult = log.result(job.id) !== undefined;
      // A crash between the result and its done line: the done line now, so an expired result never reruns it.
      if (hasResult && !done.has(job.id)) log.done(job.id);
      const finished = hasResult || done.has(job.id);
      if (!finished && !log.vouches(job)) {
        unsealed.push(job.id);
        continue;
      }
      if (!finished) {
        const queued: Job = { ...job, state: "queued", events: [], listeners: new Set(), attempts: job.attempts ?? [] };
        this.#jobs.set(queued.id, queued);
        // A retry pending when the server stopped: due when it was due, counted on from the runs it had.
        const retryAt = queued.attempts.at(-1)?.retryAt;
        if (retryAt !== undefined && retryAt > now) this.#later(queued, retryAt, retryAt - now);
        else this.#queue.push(queued);
      }
      const expiresAt = job.acceptedAt + this.options.dedupTtlS * 1000;
      if (job.requestId !== undefined && expiresAt > now) this.#byRequest.set(job.requestId, { id: job.id, textHash: textHash(job.text), expiresAt });
    }
    if (unsealed.length > 0)
      this.options.logError(
        `serve: ${unsealed.length} unfinished job(s) in ${log.dir}/jobs.wal (${unsealed.slice(0, 3).join(", ")}) are not ` +
          "sealed by your org's key (a log this org did not write: a clone's, an archive's, another user's); " +
          "not run, and dropped at the next compaction",
      );
    for (const { requestId, ...request } of requests) if (request.expiresAt > now) this.#byRequest.set(requestId, request);
    this.#finished = log.results().map(({ id, writtenAt }) => ({ id, expiresAt: writtenAt + this.#ttlMs }));
    this.#expire(now);
    this.#compactIfWorth();
    for (let index = 0; index < this.options.workers; index++) this.#workers.push(this.#work());
    // Often enough that a result outlives its TTL by at most a tenth of it (a minute at most).
    this.#sweeper = setInterval(() => this.#tick(), Math.min(60_000, Math.max(50, this.#ttlMs / 10)));
    this.#sweeper.unref?.();
  }

  #tick(): void {
    try {
      const now = this.#now();
      this.#expire(now);
      this.#prune(now);
      this.#compactIfWorth();
    } catch (error) {
      this.options.logError(`serve: expiring or compacting jobs failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }

  /** Removes the results whose time is up; their done lines keep them from running again. */
  #expire(now: number): void {
    let index = 0;
    while (index < this.#finished.length && (this.#finished[index]?.expiresAt ?? Infinity) <= now) {
      this.options.log.removeResult((this.#finished[index] as { id: string }).id);
      index += 1;
    }
    if (index > 0) this.#finished.splice(0, index);
  }

  /**
   * Rewrites the log with the jobs still to run and the request_ids still remembered, when it is past
   * `compactAboveBytes` and its dead lines (finished jobs, done lines, forgotten request_ids) outnumber those:
   * each line is rewritten a bounded number of times, and the log stays about twice what it must hold.
   */
  #compactIfWorth(): void {
    const { log } = this.options;
    if (log.bytes <= (this.options.compactAboveBytes ?? DEFAULT_COMPACT_ABOVE_BYTES) || log.lines <= 2 * this.#jobs.size) return;
    const requests = [...this.#byRequest].filter(([, request]) => !this.#jobs.has(request.id) && request.expiresAt > this.#now());
    let live = requests.length;
    for (const job of this.#jobs.values()) live += 1 + job.attempts.length;
    if (log.lines - live <= live) return;
    log.compact(
      [...this.#jobs.values()].map(({ id, text, mode, requestId, acceptedAt, seal, attempts }) => ({
        id,
        text,
        acceptedAt,
        ...(attempts.length > 0 ? { attempts } : {}),
        ...(mode !== undefined ? { mode } : {}),
        ...(requestId !== undefined ? { requestId } : {}),
        ...(seal !== undefined ? { seal } : {}),
      })),
      requests.map(([requestId, request]) => ({ requestId, ...request })),
    );
  }

  /** Accepts a job (written to the log before this returns); the same request_id within the TTL gives the same job. */
  post(body: { text: string; mode?: string; request_id?: string }): { status: 200 | 202; id: string; state: JobState } {
    if (this.#stop.signal.aborted) throw new HttpError(503, "the server is shutting down; try again when it is back.");
    const now = this.#now();
    if (body.request_id !== undefined) {
      const known = this.#byRequest.get(body.request_id);
      // A job whose result expired is gone: its request_id makes a new one.
      const state = known && known.expiresAt > now ? this.#job(known.id)?.state : undefined;
      if (known && state) {
        // Never the other job's id: whoever reuses a request_id learns nothing of a job it did not make.
        if (known.textHash !== textHash(body.text))
          throw new HttpError(409, `request_id ${body.request_id} was already used for a job with another text; use a new request_id for a new job.`);
        return { status: 200, id: known.id, state };
      }
    }
    const max = this.options.maxQueued ?? DEFAULT_JOB_QUEUE_MAX;
    if (this.#queue.length >= max) {
      // About when a worker takes the next waiting job.
      const retryS = Math.min(60, Math.max(1, Math.ceil(this.#runS / this.options.workers)));
      throw new HttpError(
        429,
        `${this.#queue.length} jobs are already waiting, as many as this server queues (ORG_SERVE_JOB_QUEUE_MAX=${max}); retry in ${retryS} s.`,
        { "retry-after": String(retryS) },
      );
    }
    const accepted: AcceptedJob = {
      id: newJobId(now),
      text: body.text,
      acceptedAt: now,
      ...(body.mode !== undefined ? { mode: body.mode } : {}),
      ...(body.request_id !== undefined ? { requestId: body.request_id } : {}),
    };
    // Durable before anyone hears of it: a crash after this line runs the job again, never loses it.
    this.options.log.accept(accepted);
    const job: Job = { ...accepted, state: "queued", events: [], listeners: new Set(), attempts: [] };
    this.#jobs.set(job.id, job);
    if (body.request_id !== undefined)
      this.#byRequest.set(body.request_id, { id: job.id, textHash: textHash(job.text), expiresAt: now + this.options.dedupTtlS * 1000 });
    this.#prune(now);
    this.#queue.push(job);
    this.#wake?.();
    return { status: 202, id: job.id, state: job.state };
  }

  /** `{ id, state, events, attempts }` (`retryAt` while a retry waits), or undefined for an unknown id. */
  get(id: string): JobView | undefined {
    const job = this.#job(id);
    if (!job) return undefined;
    return {
      id: job.id,
      state: job.state,
      events: [...job.events],
      ...(job.sessionId ? { session: job.sessionId } : {}),
      attempts: [...job.attempts],
      ...(job.retryAt !== undefined ? { retryAt: job.retryAt } : {}),
    };
  }

  /**
   * The job's events as server-sent events, each with `id: <index>`, from after `lastEventId`; the stream
   * ends when the job has finished and everything is sent.
   */
  stream(id: string, lastEventId: number, signal: AbortSignal): ReadableStream<Uint8Array> | undefined {
    const job = this.#job(id);
    if (!job) return undefined;
    const encoder = new TextEncoder();
    let next = Math.max(0, lastEventId + 1);
    let cleanup = () => {};
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        let open = true;
        const close = () => {
          if (!open) return;
          open = false;
          cleanup();
          try {
            controller.close();
          } catch {
            // the client closed it
          }
        };
        const pump = () => {
          if (!open) return;
          // A rerun after a restart starts its events over; a client ahead of them waits for the new ones.
          while (next < job.events.length) {
            controller.enqueue(encoder.encode(`id: ${next}\ndata: ${JSON.stringify(job.events[next])}\n\n`));
            next += 1;
          }
          if (job.state === "done" || job.state === "failed") close();
        };
        const keepAlive = setInterval(() => open && controller.enqueue(encoder.encode(": keep-alive\n\n")), KEEP_ALIVE_MS);
        const onAbort = () => close();
        cleanup = () => {
          clearInterval(keepAlive);
          job.listeners.delete(pump);
          signal.removeEventListener("abort", onAbort);
        };
        job.listeners.add(pump);
        signal.addEventListener("abort", onAbort, { once: true });
        pump();
      },
      cancel: () => cleanup(),
    });
  }

  /** Stops the workers; running jobs are cancelled without a result, so they run again after a restart. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#stop.abort(new Error("the server is stopping"));
    this.#wake?.();
    await Promise.allSettled(this.#workers);
    this.options.log.close();
  }

  /** A job held in memory (queued, running), else a finished one read from its result file. */
  #job(id: string): Job | undefined {
    const held = this.#jobs.get(id);
    if (held) return held;
    const result = this.options.log.result(id);
    // Past its time but not swept yet: already gone for the client.
    if (!result || result.finishedAt + this.#ttlMs <= this.#now()) return undefined;
    return {
      id,
      text: "",
      acceptedAt: 0,
      state: result.state,
      events: result.events,
      listeners: new Set(),
      attempts: Array.isArray(result.attempts) ? result.attempts : [],
      ...(result.sessionId ? { sessionId: result.sessionId } : {}),
    };
  }

  #notify(job: Job): void {
    for (const listener of [...job.listeners]) listener();
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#byRequest) if (entry.expiresAt <= now) this.#byRequest.delete(key);
  }

  async #take(): Promise<Job | undefined> {
    for (;;) {
      if (this.#stop.signal.aborted) return undefined;
      const job = this.#queue.shift();
      if (job) return job;
      await new Promise<void>((resolve) => {
        const previous = this.#wake;
        this.#wake = () => {
          this.#wake = undefined;
          previous?.();
          resolve();
        };
      });
    }
  }

  /** Puts the job back in the queue once its retry is due (at once when the server stops: it then runs after the restart). */
  #later(job: Job, retryAt: number, delayMs: number): void {
    job.state = "queued";
    job.retryAt = retryAt;
    const signal = this.#stop.signal;
    void (this.options.sleep ?? sleep)(delayMs, signal).then(() => {
      if (signal.aborted) return;
      job.retryAt = undefined;
      this.#queue.push(job);
      this.#wake?.();
    });
  }

  async #work(): Promise<void> {
    for (;;) {
      const job = await this.#take();
      if (!job) return;
      const signal = this.#stop.signal;
      job.state = "running";
      // A retry keeps the events of the runs before it: a client following the job sees each run.
      const firstEvent = job.events.length;
      this.#notify(job);
      const started = this.#now();
      let outcome: { ok: boolean; sessionId?: string };
      let failure: JobFailure | undefined;
      try {
        outcome = await this.options.run(
          job,
          (event) => {
            job.events.push(event);
            this.#notify(job);
          },
          signal,
        );
      } catch (error) {
        if (signal.aborted) return;
        this.options.logError(`serve: job ${job.id} failed: ${error instanceof Error ? error.stack : String(error)}`);
        const message = "the job failed inside the server; its log has the details.";
        job.events.push({ type: "error", message, kind: "internal" });
        failure = { kind: "internal", message, retryable: false };
        outcome = { ok: false };
      }
      // Stopped by a shutdown: no result, so the next start runs it again.
      if (signal.aborted) return;
      const finishedAt = this.#now();
      this.#runS = 0.8 * this.#runS + 0.2 * Math.max(0.001, (finishedAt - started) / 1000);
      if (!outcome.ok) failure ??= jobFailure(job.events.slice(firstEvent));
      const attempt: JobAttempt = {
        attempt: job.attempts.length + 1,
        startedAt: started,
        finishedAt,
        ok: outcome.ok,
        ...(failure ? { kind: failure.kind, message: failure.message, retryable: failure.retryable } : {}),
      };
      if (outcome.sessionId) job.sessionId = outcome.sessionId;
      if (failure?.retryable && attempt.attempt < (this.options.retry ?? DEFAULT_JOB_RETRY).maxAttempts && this.#retry(job, attempt, failure))
        continue;
      job.attempts.push(attempt);
      const state = outcome.ok ? "done" : "failed";
      try {
        this.options.log.complete({
          id: job.id,
          state,
          ...(outcome.sessionId ? { sessionId: outcome.sessionId } : {}),
          events: job.events,
          finishedAt,
          attempts: job.attempts,
        });
        this.options.log.done(job.id);
        this.#finished.push({ id: job.id, expiresAt: finishedAt + this.#ttlMs });
        // On disk now: memory holds only what is still to run (streams open on it keep their reference).
        this.#jobs.delete(job.id);
        this.#compactIfWorth();
      } catch (error) {
        this.options.logError(
          `serve: job ${job.id} finished but its result could not be written: ${error instanceof Error ? error.stack : String(error)}`,
        );
      }
      job.state = state;
      this.#notify(job);
    }
  }

  /** Logs the failed run with the delay chosen, then waits it out off the workers; false when the log cannot take it. */
  #retry(job: Job, attempt: JobAttempt, failure: JobFailure): boolean {
    const delayMs = jobRetryDelay(attempt.attempt, this.options.retry ?? DEFAULT_JOB_RETRY, this.options.random ?? Math.random, failure.retryAfterMs);
    const retryAt = attempt.finishedAt + delayMs;
    const retried: JobAttempt = { ...attempt, delayMs, retryAt };
    try {
      // Durable before the wait: a restart meanwhile runs the job when this retry is due, once, counted on from here.
      this.options.log.attempt(job.id, retried);
    } catch (error) {
      this.options.logError(
        `serve: job ${job.id}'s retry could not be logged, so it is not retried: ${error instanceof Error ? error.message : String(error)}`,
      );
      return false;
    }
    job.attempts.push(retried);
    this.#later(job, retryAt, delayMs);
    this.#notify(job);
    return true;
  }
}
