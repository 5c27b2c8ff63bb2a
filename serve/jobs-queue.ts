import { randomUUID } from "node:crypto";
import type { RoomEvent } from "../room/room-event.ts";
import { HttpError } from "./http-error.ts";
import type { AcceptedJob, JobsLog } from "./jobs-log.ts";

export type JobState = "queued" | "running" | "done" | "failed";

/** One job as the server holds it: its events so far, and who waits for more. */
type Job = AcceptedJob & { state: JobState; events: RoomEvent[]; listeners: Set<() => void>; sessionId?: string };

/** Runs one job's turn, handing each room event to `onEvent`; `ok` is the turn's. */
export type RunJob = (job: AcceptedJob, onEvent: (event: RoomEvent) => void, signal: AbortSignal) => Promise<{ ok: boolean; sessionId?: string }>;

export type JobsQueueOptions = {
  log: JobsLog;
  run: RunJob;
  /** Jobs run at once (`serve --workers`). */
  workers: number;
  /** Seconds a request_id returns the job it made. */
  dedupTtlS: number;
  /** Jobs that may wait; past that a POST is 429. */
  maxQueued?: number;
  /** Lines of log past which a start rewrites it with only the jobs it still needs (default 1000). */
  compactAbove?: number;
  logError: (line: string) => void;
  now?: () => number;
};

const KEEP_ALIVE_MS = 15_000;

function newJobId(now: number): string {
  return `job-${now.toString(36)}-${randomUUID().slice(0, 8)}`;
}

/**
 * Serve's jobs: accepted into the write-ahead log before the answer, run by a fixed number of workers in
 * order of arrival, each finished job's result written once. After a restart, accepted jobs without a result
 * run again; finished ones answer from their result.
 */
export class JobsQueue {
  #jobs = new Map<string, Job>();
  #queue: Job[] = [];
  #wake: (() => void) | undefined;
  #byRequest = new Map<string, { id: string; text: string; expiresAt: number }>();
  #stop = new AbortController();
  #workers: Promise<void>[] = [];
  readonly #now: () => number;

  constructor(readonly options: JobsQueueOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** Reads the log: finished jobs keep their result, the others wait to run again. Then starts the workers. */
  start(): void {
    this.options.log.sweep();
    const now = this.#now();
    const all = this.options.log.accepted();
    const needed: AcceptedJob[] = [];
    for (const accepted of all) {
      // Finished jobs stay on disk only; GET reads their result file when asked.
      const finished = this.options.log.result(accepted.id) !== undefined;
      if (!finished) {
        const job: Job = { ...accepted, state: "queued", events: [], listeners: new Set() };
        this.#jobs.set(job.id, job);
        this.#queue.push(job);
      }
      const expiresAt = accepted.acceptedAt + this.options.dedupTtlS * 1000;
      const { requestId } = accepted;
      const remembered = requestId !== undefined && expiresAt > now;
      if (remembered) this.#byRequest.set(requestId, { id: accepted.id, text: accepted.text, expiresAt });
      if (!finished || remembered) needed.push(accepted);
    }
    if (all.length > (this.options.compactAbove ?? 1000) && needed.length < all.length) this.options.log.compact(needed);
    for (let index = 0; index < this.options.workers; index++) this.#workers.push(this.#work());
  }

  /** Accepts a job (written to the log before this returns); the same request_id within the TTL gives the same job. */
  post(body: { text: string; mode?: string; request_id?: string }): { status: 200 | 202; id: string; state: JobState } {
    if (this.#stop.signal.aborted) throw new HttpError(503, "the server is shutting down; try again when it is back.");
    const now = this.#now();
    if (body.request_id !== undefined) {
      const known = this.#byRequest.get(body.request_id);
      if (known && known.expiresAt > now) {
        if (known.text !== body.text)
          throw new HttpError(409, `request_id ${body.request_id} already made job ${known.id} with another text; use a new request_id for a new job.`);
        return { status: 200, id: known.id, state: this.#job(known.id)?.state ?? "queued" };
      }
    }
    if (this.#queue.length >= (this.options.maxQueued ?? 10_000)) {
      throw new HttpError(429, `${this.#queue.length} jobs are already waiting; retry later.`, { "retry-after": "5" });
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
    const job: Job = { ...accepted, state: "queued", events: [], listeners: new Set() };
    this.#jobs.set(job.id, job);
    if (body.request_id !== undefined) this.#byRequest.set(body.request_id, { id: job.id, text: job.text, expiresAt: now + this.options.dedupTtlS * 1000 });
    this.#prune(now);
    this.#queue.push(job);
    this.#wake?.();
    return { status: 202, id: job.id, state: job.state };
  }

  /** `{ id, state, events }`, or undefined for an unknown id. */
  get(id: string): { id: string; state: JobState; events: RoomEvent[]; session?: string } | undefined {
    const job = this.#job(id);
    if (!job) return undefined;
    return { id: job.id, state: job.state, events: [...job.events], ...(job.sessionId ? { session: job.sessionId } : {}) };
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
    if (!result) return undefined;
    return {
      id,
      text: "",
      acceptedAt: 0,
      state: result.state,
      events: result.events,
      listeners: new Set(),
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

  async #work(): Promise<void> {
    for (;;) {
      const job = await this.#take();
      if (!job) return;
      const signal = this.#stop.signal;
      job.state = "running";
      job.events = [];
      this.#notify(job);
      let outcome: { ok: boolean; sessionId?: string };
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
        job.events.push({ type: "error", message: "the job failed inside the server; its log has the details.", kind: "internal" });
        outcome = { ok: false };
      }
      // Stopped by a shutdown: no result, so the next start runs it again.
      if (signal.aborted) return;
      const state = outcome.ok ? "done" : "failed";
      try {
        this.options.log.complete({
          id: job.id,
          state,
          ...(outcome.sessionId ? { sessionId: outcome.sessionId } : {}),
          events: job.events,
          finishedAt: this.#now(),
        });
        // On disk now: memory holds only what is still to run (streams open on it keep their reference).
        this.#jobs.delete(job.id);
      } catch (error) {
        this.options.logError(`serve: job ${job.id} finished but its result could not be written: ${error instanceof Error ? error.stack : String(error)}`);
      }
      if (outcome.sessionId) job.sessionId = outcome.sessionId;
      job.state = state;
      this.#notify(job);
    }
  }
}
