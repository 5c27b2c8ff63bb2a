import { readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonLines } from "../config/json-lines.ts";
import { type LineSealer, lineSealer } from "../config/line-seal.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { appendPrivateFile, ensurePrivateDir } from "./private-state.ts";
import { redact } from "./redact.ts";

/** The audit log's session of calls made over serve's HTTP (`POST /v1/tools/NAME/run`, `POST /v1/workflows/NAME/run`): nobody watches them. */
export const HTTP_SESSION = "http";

/** What a request a tool sent out was, for the audit line: never its body, headers or query. */
export const RequestAudit = z.object({
  method: z.string(),
  host: z.string(),
  path: z.string(),
  /** The answer's status; absent when nothing was sent (refused) or nothing came back. */
  status: z.number().optional(),
  /** Bytes of the body sent and of the answer's body read. */
  sentBytes: z.number(),
  receivedBytes: z.number(),
});
export type RequestAudit = z.infer<typeof RequestAudit>;

/**
 * One connection a sandboxed command asked org's egress guard for (tool "egress", one line each; the line's `ok` is
 * true, whether the guard let it through is `allowed`): never a body, a path or a header.
 */
export const ConnectionAudit = z.object({
  host: z.string(),
  port: z.number(),
  /** The rule that let it through or refused it. */
  rule: z.string(),
  allowed: z.boolean(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  /** Why it ended early (a limit, the run ending). */
  cut: z.string().optional(),
  /** On the line a run ends with for refusals not written one by one: how many more of this host, port and rule. */
  repeated: z.number().optional(),
  /** The command's first line, and the tool call that ran it. */
  command: z.string().optional(),
  callId: z.string().optional(),
});
export type ConnectionAudit = z.infer<typeof ConnectionAudit>;

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
  /** What a failed call said, in one line (redacted, at most 300 characters): how the supervisor tells one failure from another. */
  error?: string;
  durationMs: number;
  bytes: number;
  /** A request the tool sent out (web_request). */
  request?: RequestAudit;
  /** A connection through the egress guard (tool "egress"). */
  connection?: ConnectionAudit;
};

/** An audit line as `AuditLog` writes it: the one reader of the log (`org grow` reads failed calls from it). */
const AuditLine = z.object({
  time: z.string(),
  sessionId: z.string().optional(),
  persona: z.string().optional(),
  requestId: z.string().optional(),
  policyFrom: z.string().optional(),
  breadcrumb: z.string().optional(),
  tool: z.string(),
  arguments: z.unknown(),
  ok: z.boolean(),
  exitCode: z.number().nullable().optional(),
  error: z.string().optional(),
  durationMs: z.number(),
  bytes: z.number(),
  request: RequestAudit.optional(),
  connection: ConnectionAudit.optional(),
});

/** The audit entries among lines of the log's text; a line a crash tore, or anything that is not an entry, is passed over. */
export function readAuditLines(lines: Iterable<string>): AuditEntry[] {
  return readJsonLines(
    [...lines].map((text) => ({ at: 0, text })),
    AuditLine,
  ).values.map(({ value }) => value);
}

/** The sealer of one day's audit lines: each line sealed over its day and its text (lines of several processes interleave, so not its place). */
function auditSealer(home: string | undefined, day: string, create: boolean): LineSealer | undefined {
  return lineSealer(home, `audit ${day}`, create);
}

/**
 * The entries of day `day`'s lines that org wrote here (their seal holds under the key of the user's org folder
 * `home`), and how many entries were not (a clone's, an archive's, an older org's): `org grow` hears only the first.
 */
export function readSealedAuditLines(day: string, lines: readonly string[], home: string | undefined): { entries: AuditEntry[]; unsealed: number } {
  const sealer = auditSealer(home, day, false);
  const all = readAuditLines(lines);
  const sealed = lines.filter((line) => sealer?.holds("", line) === true);
  const entries = readAuditLines(sealed);
  return { entries, unsealed: all.length - entries.length };
}

const AUDIT_DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

/** The log's day files in `directory` (`<YYYY-MM-DD>.jsonl`), oldest first; none when it is missing. */
export function auditDayFiles(directory: string): { day: string; path: string }[] {
  let names: string[];
  try {
    names = readdirSync(directory).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const day = AUDIT_DAY_FILE.exec(name)?.[1];
    return day === undefined ? [] : [{ day, path: join(directory, name) }];
  });
}

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
  /** Each day's sealer, made once (the key is read from the user's folder then). */
  readonly #sealers = new Map<string, LineSealer | undefined>();

  /** `seals.home`: the user's org folder, whose key seals each line (the environment's by default; unsealed when none can keep a key). */
  constructor(
    readonly directory: string,
    readonly seals: { home: string | undefined } = { home: userOrgDir() },
  ) {}

  record(entry: AuditEntry): void {
    if (!this.directoryReady) {
      ensurePrivateDir(this.directory);
      this.directoryReady = true;
    }
    const day = /^\d{4}-\d{2}-\d{2}/.exec(entry.time)?.[0] ?? new Date().toISOString().slice(0, 10);
    // runTool already redacts arguments; the whole line passes again so nothing a caller adds slips by.
    const line = redact(JSON.stringify(entry));
    if (!this.#sealers.has(day)) this.#sealers.set(day, auditSealer(this.seals.home, day, true));
    const sealer = this.#sealers.get(day);
    appendPrivateFile(join(this.directory, `${day}.jsonl`), `${sealer ? sealer.seal("", line) : line}\n`);
  }
}
