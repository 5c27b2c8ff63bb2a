import { join } from "node:path";
import { appendPrivateFile, ensurePrivateDir } from "./private-state.ts";
import { redact } from "./redact.ts";

/** One line of the audit log: what ran, for whom, and how it ended. */
export type AuditEntry = {
  time: string;
  sessionId?: string;
  persona?: string;
  requestId?: string;
  /** Whose policy let the call run when that was not the caller's own (a hop under a stricter policy). */
  policyFrom?: string;
  /** The caller's tracking id (`org patch`'s TRACKING_BREADCRUMB), so a run's calls can be found again. */
  breadcrumb?: string;
  tool: string;
  arguments: unknown;
  ok: boolean;
  exitCode?: number | null;
  durationMs: number;
  bytes: number;
};

/** Where tool runs are recorded; `AuditLog` below writes them to disk. */
export interface AuditSink {
  record(entry: AuditEntry): void;
}

/**
 * Appends one JSON line per tool call to `<directory>/<YYYY-MM-DD>.jsonl` (UTC date of the call). Each line
 * is written synchronously with a single append, so a crash loses at most the line being written.
 */
export class AuditLog implements AuditSink {
  private directoryReady = false;

  constructor(readonly directory: string) {}

  record(entry: AuditEntry): void {
    if (!this.directoryReady) {
      ensurePrivateDir(this.directory);
      this.directoryReady = true;
    }
    const day = /^\d{4}-\d{2}-\d{2}/.exec(entry.time)?.[0] ?? new Date().toISOString().slice(0, 10);
    // runTool already redacts arguments; the whole line passes again so nothing a caller adds slips by.
    const line = redact(JSON.stringify(entry));
    appendPrivateFile(join(this.directory, `${day}.jsonl`), `${line}\n`);
  }
}
