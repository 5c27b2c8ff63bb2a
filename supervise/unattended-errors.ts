import { join } from "node:path";
import { z } from "zod";
import { BUILTIN_TOOL_NAMES, generatedToolNames, RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { AUDIT_DIR } from "../config/workspace-paths.ts";
import { readAppendedLines } from "../grow/read-appended.ts";
import { HTTP_SESSION, readAuditLines } from "../security/audit-log.ts";
import { finishedJobs } from "../serve/finished-jobs.ts";
import { isModelMistake } from "../tools/define-tool.ts";
import { failureLine } from "../tools/failure-line.ts";
import { workflowFiles } from "../workflows/workflow-files.ts";
import type { SuperviseContext } from "./supervise-check.ts";

// Failures of work nobody watches: serve's jobs, tools and workflows run over serve's HTTP (the audit log's `http`
// session), and tools that crashed (no exit status) in a turn serve ran for a client. What fails in a person's own
// open room (`org chat`: its calls carry no request id) is theirs to see, not an incident. A name org has no tool or
// workflow of is the model's own invention and may carry anything (a secret, instructions): such calls are left out,
// and the name is never shown.

/** One error line from a log, and when it happened. */
export type ErrorLine = { source: string; id: string; at: number; text: string };

/** Finished jobs read in one round at most (oldest first; the rest the next round). */
const MAX_JOBS_PER_ROUND = 200;
const JOBS_MARK = "novel:jobs";

/** The names a call may have that org made: its built-in tools, the generated tools and the workflows of the workspace and the checkout. */
export function knownToolNames(context: Pick<SuperviseContext, "workspaceDir" | "repoDir">): ReadonlySet<string> {
  const roots = [...new Set([context.workspaceDir, context.repoDir])];
  const workflows = roots.flatMap((root) => workflowFiles(root).map((file) => file.replace(/\.json$/, "")));
  return new Set([...BUILTIN_TOOL_NAMES, ...RESERVED_TOOL_NAMES, ...generatedToolNames(roots), ...workflows]);
}

/**
 * serve's jobs finished since the last read: each command that failed with an exit status (the tool, its exit code and
 * the line of its output that says what went wrong), and each job that failed as a whole (its first error).
 */
export function jobErrors(context: SuperviseContext, known: ReadonlySet<string>): ErrorLine[] {
  const mark = Number(context.state.get(JOBS_MARK) ?? Number.NaN);
  const since = Number.isFinite(mark) ? mark : context.now() - context.config.supervise.window;
  const jobs = finishedJobs(context.workspaceDir, { since, until: Number.MAX_SAFE_INTEGER }).slice(0, MAX_JOBS_PER_ROUND);
  const lines: ErrorLine[] = [];
  for (const job of jobs) {
    const result = job.result();
    for (const event of result?.events ?? []) {
      if (event.type === "tool-result" && typeof event.exitCode === "number" && event.exitCode !== 0 && known.has(event.call.name))
        lines.push({
          source: "serve jobs",
          id: `job:${job.id}:${event.call.id}`,
          at: job.finishedAt,
          text: `${event.call.name} failed (exit ${event.exitCode}): ${failureLine(event.output, event.data)}`,
        });
    }
    const error = result?.state === "failed" ? result.events.find((event) => event.type === "error") : undefined;
    if (error?.type === "error")
      lines.push({ source: "serve jobs", id: `job:${job.id}`, at: job.finishedAt, text: `a job failed: ${failureLine(error.message)}` });
  }
  const last = jobs.at(-1);
  if (last) context.state.set(JOBS_MARK, String(last.finishedAt));
  return lines;
}

/**
 * The audit log read on from last time: a tool or workflow run over serve's HTTP that failed (with what it said), and a
 * tool that crashed in a turn serve ran (a job's, a client's: failed without an exit status, and not for a mistake of
 * the model's call). A person's own room is left out: its calls carry no request id.
 */
export function auditErrors(context: SuperviseContext, known: ReadonlySet<string>): ErrorLine[] {
  const lines: ErrorLine[] = [];
  for (const day of [new Date(context.now() - 86_400_000), new Date(context.now())].map((date) => date.toISOString().slice(0, 10))) {
    const key = `novel:audit:${day}`;
    const mark = z.object({ offset: z.number(), ino: z.number() }).safeParse(JSON.parse(context.state.get(key) ?? "null"));
    const read = readAppendedLines(join(context.workspaceDir, AUDIT_DIR, `${day}.jsonl`), mark.success ? mark.data : undefined, 4 * 1024 * 1024);
    if (!read) continue;
    context.state.set(key, JSON.stringify(read.mark));
    for (const line of read.lines) {
      const [entry] = readAuditLines([line.text]);
      if (!entry || entry.ok || !known.has(entry.tool)) continue;
      const said = entry.error === undefined ? "" : `: ${entry.error}`;
      const at = Date.parse(entry.time) || context.now();
      const id = `audit:${day}:${line.offset}`;
      if (entry.sessionId === HTTP_SESSION) {
        const exit = typeof entry.exitCode === "number" ? ` (exit ${entry.exitCode})` : "";
        lines.push({ source: "serve's HTTP runs", id, at, text: `${entry.tool} failed${exit}${said}` });
      } else if (entry.requestId !== undefined && (entry.exitCode === undefined || entry.exitCode === null) && !isModelMistake(entry.error ?? "")) {
        lines.push({ source: "the audit log", id, at, text: `tool ${entry.tool} failed to run${said}` });
      }
    }
  }
  return lines;
}
