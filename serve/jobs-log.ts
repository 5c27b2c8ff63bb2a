import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { canonicalJson } from "../config/canonical-json.ts";
import { sealValue, valueSealHolds } from "../config/trust-store.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { writeNewPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { redact, redactValue } from "../security/redact.ts";
import type { RoomEvent } from "../room/room-event.ts";
import type { JobAttempt } from "./job-retry.ts";
import { OrgError } from "../errors/org-error.ts";

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_RDONLY } = constants;

/** Where serve keeps accepted jobs: `.org/serve/jobs.wal` and `.org/serve/results/<id>.json`. */
export const SERVE_STATE_DIR = join(ORG_DIR, "serve");

/** A job as the write-ahead log records it when it is accepted (before the 202). */
export type AcceptedJob = {
  id: string;
  text: string;
  mode?: string;
  requestId?: string;
  acceptedAt: number;
  /** The user's seal of the line (`JobsLog`'s `seals`): a job runs again after a restart only when it holds. */
  seal?: string;
  /** Runs that failed for a transient reason and were retried (attempt lines): a restart goes on from them. */
  attempts?: JobAttempt[];
};

/** What a job's seal is over: the line as written, less the seal. */
const sealedFields = (job: AcceptedJob) =>
  canonicalJson({ id: job.id, text: job.text, acceptedAt: job.acceptedAt, mode: job.mode ?? null, requestId: job.requestId ?? null });
const SEAL_LABEL = "serve job";
/** What a result's seal is under: `org grow` hears a finished job's turns as someone's words only when it holds. */
export const RESULT_SEAL_LABEL = "serve job result";

/** What a finished job left: written once, atomically (a temporary file renamed into place). */
export type JobResult = {
  id: string;
  state: "done" | "failed";
  sessionId?: string;
  events: RoomEvent[];
  finishedAt: number;
  /** Every run of the job, the last included. */
  attempts?: JobAttempt[];
};

/** A request_id still remembered for a finished job: what a compaction keeps of it instead of its text. */
export type RememberedRequest = { id: string; requestId: string; textHash: string; expiresAt: number };

/** What the log holds: jobs accepted, jobs finished, request_ids of finished jobs kept by a compaction. */
export type JobsLogContents = { accepted: AcceptedJob[]; done: Set<string>; requests: RememberedRequest[] };

/** `.org/serve/` is not what org made it: a link, or someone else's. */
export class JobsLogError extends OrgError {
  override name = "JobsLogError";
}

/** A job's id: `job-` and 8 to 64 lowercase letters, digits or dashes (its result file is `<id>.json`). */
export const JOB_ID = /^job-[a-z0-9-]{8,64}$/;

/** A WAL line accepting a job: what `read()` needs of it; the other fields are kept only when well-typed. */
const AcceptLine = z.looseObject({ op: z.literal("accept"), id: z.string().regex(JOB_ID), text: z.string() });
/** A WAL line saying the job's result is written: it never runs again, even once its result has expired. */
const DoneLine = z.looseObject({ op: z.literal("done"), id: z.string().regex(JOB_ID) });
/** A WAL line a compaction writes for a finished job whose request_id is still remembered. */
const RequestLine = z.looseObject({
  op: z.literal("request"),
  id: z.string().regex(JOB_ID),
  requestId: z.string().min(1).max(200),
  textHash: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.number(),
});

/** A WAL line recording a run that failed for a transient reason and is retried after `delayMs` (at `retryAt`). */
const AttemptLine = z.strictObject({
  op: z.literal("attempt"),
  id: z.string().regex(JOB_ID),
  attempt: z.int().min(1).max(1_000),
  startedAt: z.number(),
  finishedAt: z.number(),
  ok: z.literal(false),
  kind: z.string().max(100).optional(),
  message: z.string().max(2_000).optional(),
  retryable: z.literal(true),
  delayMs: z.number().min(0),
  retryAt: z.number(),
});

function lineOf(record: object): string {
  return `${JSON.stringify(record)}\n`;
}

/** A private directory (0700), refused when it is a symbolic link. */
function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const stat = lstatSync(path);
  if (!stat.isDirectory()) throw new JobsLogError(`${path} is not a directory (a link?); remove it so org can keep its jobs there.`);
  if (typeof process.getuid === "function" && stat.uid !== process.getuid()) {
    throw new JobsLogError(`${path} belongs to another user (uid ${stat.uid}); remove it so org can keep its jobs there.`);
  }
  if ((stat.mode & 0o777) !== 0o700) chmodSync(path, 0o700);
}

/**
 * The durable side of serve's jobs: an append-only log (one JSON line each, fsynced when asked) of accepted
 * jobs and of finished ones, and one result file per finished job. A job with an accept line, no done line
 * and no result file is run again after a restart; a result file is only ever created (never replaced), so
 * a job completes at most once. `compact` rewrites the log with only what is still needed, while serve runs.
 */
export class JobsLog {
  readonly dir: string;
  readonly resultsDir: string;
  #fd: number | undefined;
  #lines = 0;
  #bytes = 0;

  constructor(
    workspaceDir: string,
    readonly fsync: boolean,
    /** The room's secret set (config.secrets): no line or result on disk keeps one. */
    readonly secrets: readonly string[] = [],
    /**
     * The user's org folder, whose key seals each accept line: a job left unfinished runs again only when its seal
     * holds, so a log org did not write here (a clone's or an archive's `.org/`) runs nothing as the person's turn.
     * Without it (the supervisor's compaction, which runs no job) every line is taken as it is.
     */
    readonly seals?: { home: string | undefined },
  ) {
    this.dir = join(workspaceDir, SERVE_STATE_DIR);
    this.resultsDir = join(this.dir, "results");
    privateDir(this.dir);
    privateDir(this.resultsDir);
    const path = join(this.dir, "jobs.wal");
    this.#fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
    fchmodSync(this.#fd, 0o600);
    // A line cut by a crash: end it, so the next accept starts a line of its own.
    const text = this.#readWal();
    if (text.length > 0 && !text.endsWith("\n")) writeSync(this.#fd, "\n");
    this.#bytes = Buffer.byteLength(text) + (text.length > 0 && !text.endsWith("\n") ? 1 : 0);
    this.#lines = text.split("\n").filter((line) => line.trim() !== "").length;
  }

  /** Lines in the log now. */
  get lines(): number {
    return this.#lines;
  }

  /** Bytes in the log now. */
  get bytes(): number {
    return this.#bytes;
  }

  #readWal(): string {
    let fd: number;
    try {
      fd = openSync(join(this.dir, "jobs.wal"), O_RDONLY | O_NOFOLLOW);
    } catch {
      return "";
    }
    try {
      return readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The log's records: accepted jobs in order of arrival (each once), the ids of finished jobs, the request_ids
   * a compaction kept. A line a crash cut short is skipped (its 202, or its done, was never acted on).
   */
  read(): JobsLogContents {
    const accepted: AcceptedJob[] = [];
    const done = new Set<string>();
    const requests: RememberedRequest[] = [];
    const seen = new Set<string>();
    const attempts = new Map<string, JobAttempt[]>();
    for (const line of this.#readWal().split("\n")) {
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue; // torn by a crash mid-write
      }
      const finished = DoneLine.safeParse(value);
      if (finished.success) {
        done.add(finished.data.id);
        continue;
      }
      const request = RequestLine.safeParse(value);
      if (request.success) {
        const { id, requestId, textHash, expiresAt } = request.data;
        requests.push({ id, requestId, textHash, expiresAt });
        done.add(id);
        continue;
      }
      const retried = AttemptLine.safeParse(value);
      if (retried.success) {
        const { op: _op, id, ...attempt } = retried.data;
        const list = attempts.get(id) ?? [];
        // Each attempt once, in order: a line repeated or out of order (a hand-edited log) adds nothing.
        if (attempt.attempt === list.length + 1) attempts.set(id, [...list, attempt]);
        continue;
      }
      const parsed = AcceptLine.safeParse(value);
      if (!parsed.success || seen.has(parsed.data.id)) continue;
      const record = parsed.data;
      seen.add(record.id);
      accepted.push({
        id: record.id,
        text: record.text,
        acceptedAt: Number(record.acceptedAt) || 0,
        ...(typeof record.mode === "string" ? { mode: record.mode } : {}),
        ...(typeof record.requestId === "string" ? { requestId: record.requestId } : {}),
        ...(typeof record.seal === "string" ? { seal: record.seal } : {}),
      });
    }
    for (const job of accepted) {
      const retries = attempts.get(job.id);
      if (retries) job.attempts = retries;
    }
    return { accepted, done, requests };
  }

  #append(line: string): void {
    if (this.#fd === undefined) throw new JobsLogError("the jobs log is closed; the server is stopping.");
    writeSync(this.#fd, line);
    if (this.fsync) fsyncSync(this.#fd);
    this.#lines += 1;
    this.#bytes += Buffer.byteLength(line);
  }

  /** Records an accepted job (sealed when the log has `seals`); returns only once the line is written (and fsynced when asked). */
  accept(job: AcceptedJob): void {
    const { seal: _seal, attempts: _attempts, ...written } = { ...job, text: redact(job.text, this.secrets) };
    this.#append(lineOf({ op: "accept", ...written, ...this.#seal(written) }));
  }

  #seal(job: AcceptedJob): { seal?: string } {
    if (this.seals === undefined) return {};
    try {
      return { seal: sealValue(this.seals.home, SEAL_LABEL, sealedFields(job)) };
    } catch {
      // Nowhere to keep the user's key: the job runs now, and not again after a restart.
      return {};
    }
  }

  /** Whether a job read back may run again: its seal holds under the user's key (always, for a log without `seals`). */
  vouches(job: AcceptedJob): boolean {
    if (this.seals === undefined) return true;
    return job.seal !== undefined && valueSealHolds(this.seals.home, SEAL_LABEL, sealedFields(job), job.seal);
  }

  /** Records a run that failed for a transient reason and is retried: after a restart the job waits for `retryAt`, its count going on. */
  attempt(id: string, attempt: JobAttempt): void {
    this.#append(lineOf(this.#attemptRecord(id, attempt)));
  }

  #attemptRecord(id: string, attempt: JobAttempt): object {
    return { op: "attempt", id, ...attempt, ...(attempt.message !== undefined ? { message: redact(attempt.message, this.secrets) } : {}) };
  }

  /** Records that the job's result is written: from now on it never runs again, even once its result expired. */
  done(id: string): void {
    this.#append(lineOf({ op: "done", id }));
  }

  /**
   * Replaces the log with `keep` (the jobs still to run) and `requests` (finished jobs whose request_id is
   * still remembered, without their text), atomically (`writePrivateFile`, fsynced when asked): a crash leaves the
   * old log or the new one whole; every job it drops has its result written or a done line.
   */
  compact(keep: readonly AcceptedJob[], requests: readonly RememberedRequest[] = []): void {
    const path = join(this.dir, "jobs.wal");
    const lines = [
      ...keep.flatMap((job) => {
        const { seal, attempts, ...written } = { ...job, text: redact(job.text, this.secrets) };
        // Sealed anew where this log seals (the jobs kept are those it vouched for); kept as it was where it does not.
        const accept = lineOf({ op: "accept", ...written, ...(this.seals !== undefined ? this.#seal(written) : seal !== undefined ? { seal } : {}) });
        return [accept, ...(attempts ?? []).map((attempt) => lineOf(this.#attemptRecord(job.id, attempt)))];
      }),
      ...requests.map((request) => lineOf({ op: "request", ...request })),
    ];
    const text = lines.join("");
    writePrivateFile(path, text, { durable: this.fsync });
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = openSync(path, O_WRONLY | O_APPEND | O_NOFOLLOW, 0o600);
    this.#lines = lines.length;
    this.#bytes = Buffer.byteLength(text);
  }

  /** The finished job's result, or undefined when it has none (yet). */
  result(id: string): JobResult | undefined {
    if (!JOB_ID.test(id)) return undefined;
    let fd: number;
    try {
      fd = openSync(join(this.resultsDir, `${id}.json`), O_RDONLY | O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(readFileSync(fd, "utf8")) as JobResult;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Records a job's result atomically and never over another (`writeNewPrivateFile`, fsynced when asked), so a
   * result once written stays the only one.
   * Returns false (and writes nothing) when the job already has one.
   */
  complete(result: JobResult): boolean {
    if (this.result(result.id) !== undefined) return false;
    const written = JSON.stringify({
      ...result,
      events: redactValue(result.events, this.secrets),
      ...(result.attempts ? { attempts: redactValue(result.attempts, this.secrets) } : {}),
    });
    const text = this.seals === undefined ? written : this.#sealResult(written);
    return writeNewPrivateFile([join(this.resultsDir, `${result.id}.json`)], text, { durable: this.fsync }) !== undefined;
  }

  /** The result's text with the user's seal over what it holds (as it reads back) as its `seal`; unsealed when no key can be kept. */
  #sealResult(text: string): string {
    try {
      const seal = sealValue(this.seals?.home, RESULT_SEAL_LABEL, canonicalJson(JSON.parse(text)));
      return `${text.slice(0, -1)},"seal":${JSON.stringify(seal)}}`;
    } catch {
      return text;
    }
  }

  /** Every result file with when it was written (its mtime, ms), oldest first. */
  results(): { id: string; writtenAt: number }[] {
    const found: { id: string; writtenAt: number }[] = [];
    for (const name of readdirSync(this.resultsDir)) {
      const id = name.slice(0, -".json".length);
      if (!name.endsWith(".json") || !JOB_ID.test(id)) continue;
      try {
        found.push({ id, writtenAt: statSync(join(this.resultsDir, name)).mtimeMs });
      } catch {
        // removed meanwhile
      }
    }
    return found.sort((a, b) => a.writtenAt - b.writtenAt);
  }

  /** Removes a finished job's result (it expired). */
  removeResult(id: string): void {
    if (!JOB_ID.test(id)) return;
    try {
      unlinkSync(join(this.resultsDir, `${id}.json`));
    } catch {
      // already gone
    }
  }

  /** Temporary files a killed process left behind. */
  sweep(): void {
    for (const name of readdirSync(this.resultsDir)) {
      if (name.startsWith(".") && name.endsWith(".tmp")) unlinkSync(join(this.resultsDir, name));
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
