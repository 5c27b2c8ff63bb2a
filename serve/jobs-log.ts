import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { redact, redactValue } from "../security/redact.ts";
import type { RoomEvent } from "../room/room-event.ts";

const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY } = constants;

/** Where serve keeps accepted jobs: `.org/serve/jobs.wal` and `.org/serve/results/<id>.json`. */
export const SERVE_STATE_DIR = join(ORG_DIR, "serve");

/** A job as the write-ahead log records it when it is accepted (before the 202). */
export type AcceptedJob = { id: string; text: string; mode?: string; requestId?: string; acceptedAt: number };

/** What a finished job left: written once, atomically (a temporary file renamed into place). */
export type JobResult = { id: string; state: "done" | "failed"; sessionId?: string; events: RoomEvent[]; finishedAt: number };

/** `.org/serve/` is not what org made it: a link, or someone else's. */
export class JobsLogError extends Error {
  override name = "JobsLogError";
  readonly userFacing = true;
}

const JOB_ID = /^job-[a-z0-9-]{8,64}$/;

/** A WAL line accepting a job: what `accepted()` needs of it; the other fields are kept only when well-typed. */
const AcceptLine = z.looseObject({ op: z.literal("accept"), id: z.string().regex(JOB_ID), text: z.string() });

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
 * The durable side of serve's jobs: an append-only log of accepted jobs (one JSON line each, fsynced when
 * asked) and one result file per finished job. A job with an accept line and no result file is run again
 * after a restart; a result file is only ever created (never replaced), so a job completes at most once.
 */
export class JobsLog {
  readonly dir: string;
  readonly resultsDir: string;
  #fd: number | undefined;

  constructor(
    workspaceDir: string,
    readonly fsync: boolean,
    /** The room's secret set (config.secrets): no line or result on disk keeps one. */
    readonly secrets: readonly string[] = [],
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

  /** Every accepted job, in order of arrival; a line a crash cut short is skipped (its 202 was never sent). */
  accepted(): AcceptedJob[] {
    const jobs: AcceptedJob[] = [];
    const seen = new Set<string>();
    for (const line of this.#readWal().split("\n")) {
      if (line.trim() === "") continue;
      try {
        const parsed = AcceptLine.safeParse(JSON.parse(line));
        if (!parsed.success || seen.has(parsed.data.id)) continue;
        const record = parsed.data;
        seen.add(record.id);
        jobs.push({
          id: record.id,
          text: record.text,
          acceptedAt: Number(record.acceptedAt) || 0,
          ...(typeof record.mode === "string" ? { mode: record.mode } : {}),
          ...(typeof record.requestId === "string" ? { requestId: record.requestId } : {}),
        });
      } catch {
        // torn by a crash mid-write
      }
    }
    return jobs;
  }

  /** Records an accepted job; returns only once the line is written (and fsynced when asked). */
  accept(job: AcceptedJob): void {
    if (this.#fd === undefined) throw new JobsLogError("the jobs log is closed; the server is stopping.");
    writeSync(this.#fd, `${JSON.stringify({ op: "accept", ...job, text: redact(job.text, this.secrets) })}\n`);
    if (this.fsync) fsyncSync(this.#fd);
  }

  /**
   * Replaces the log with `keep` (the jobs still to run, and those whose request_id is still remembered):
   * written beside it, fsynced, renamed over it. A crash before the rename leaves the old log whole.
   */
  compact(keep: readonly AcceptedJob[]): void {
    const path = join(this.dir, "jobs.wal");
    const temporary = join(this.dir, "jobs.wal.compacting");
    try {
      unlinkSync(temporary);
    } catch {
      // none left by an earlier crash
    }
    const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, keep.map((job) => `${JSON.stringify({ op: "accept", ...job })}\n`).join(""));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = openSync(path, O_WRONLY | O_APPEND | O_NOFOLLOW, 0o600);
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
   * Records a job's result atomically: written to a temporary file, fsynced when asked, then linked into
   * place (a link never replaces a file, so a result once written stays the only one).
   * Returns false (and writes nothing) when the job already has one.
   */
  complete(result: JobResult): boolean {
    const target = join(this.resultsDir, `${result.id}.json`);
    if (this.result(result.id) !== undefined) return false;
    const temporary = join(this.resultsDir, `.${result.id}.${process.pid}.${Date.now()}.tmp`);
    const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, JSON.stringify({ ...result, events: redactValue(result.events, this.secrets) }));
      if (this.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, target);
    } catch (error) {
      if (error instanceof Error && "code" in error && error.code === "EEXIST") return false;
      throw error;
    } finally {
      unlinkSync(temporary);
    }
    if (this.fsync) {
      const dirFd = openSync(this.resultsDir, O_RDONLY);
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
    return true;
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
