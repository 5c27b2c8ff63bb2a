import type { ScheduleEntry } from "../config/schedule-settings.ts";
import type { McpToolRun } from "../mcp-server/mcp-tool-catalog.ts";
import type { TranscriptIndex } from "../room/memory-indexer.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { RoomModeError } from "../room/room-mode.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { redact, redactValue } from "../security/redact.ts";
import { HttpError } from "../serve/http-error.ts";
import type { SessionPool } from "../serve/session-pool.ts";
import { failureLine } from "../tools/failure-line.ts";
import { recordWorkflowRun } from "./workflow-run-session.ts";

/** The audit log's session and persona of a schedule's own line. */
export const SCHEDULE_AUDIT = "schedule";
const SUMMARY_CHARS = 300;

/**
 * What a scheduled run needs: serve's sessions (unattended: "ask" is denied), the workspace's sessions folder and
 * memory (a workflow's run is recorded there), the workflows, the audit log.
 */
export type ScheduleRunParts = {
  sessions: Pick<SessionPool, "lease">;
  sessionsDir: string;
  memory?: TranscriptIndex;
  /** The saved workflows, looked up at each run (the workspace's, then the checkout's). */
  workflow: (name: string) => { run(input: unknown, signal?: AbortSignal): Promise<McpToolRun> } | undefined;
  audit?: AuditSink;
  secrets: readonly string[];
  now?: () => number;
};

/** How a run ended: ok, a line saying what came of it, and the session it is recorded in. */
export type ScheduleOutcome = { name: string; ok: boolean; summary: string; sessionId?: string; durationMs: number };

const cut = (text: string) => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > SUMMARY_CHARS ? `${line.slice(0, SUMMARY_CHARS)}…` : line;
};

/** The message's turn in its session (a new one when `sessionId` is unknown or gone), in direct mode to its persona. */
async function runMessage(
  entry: ScheduleEntry & { to: string; message: string },
  sessionId: string | undefined,
  parts: ScheduleRunParts,
  signal: AbortSignal,
) {
  const requestId = `schedule-${crypto.randomUUID().slice(0, 8)}`;
  let lease: Awaited<ReturnType<SessionPool["lease"]>>;
  try {
    lease = await parts.sessions.lease(sessionId, requestId, signal);
  } catch (error) {
    // Its transcript was removed: the runs go on in a new session.
    if (!(error instanceof HttpError && error.status === 404) || sessionId === undefined) throw error;
    lease = await parts.sessions.lease(undefined, requestId, signal);
  }
  const texts: string[] = [];
  try {
    lease.listen((event: RoomEvent) => {
      if (event.type === "text-delta") texts.push(event.text);
      if (event.type === "reply-start") texts.length = 0;
    });
    try {
      lease.room.setMode(`direct:${entry.to}`);
    } catch (error) {
      if (!(error instanceof RoomModeError)) throw error;
      return { ok: false, summary: `no persona ${entry.to} in this room: ${error.message}`, sessionId: lease.sessionId };
    }
    const turn = await lease.room.send(entry.message, { signal });
    const failed = turn.errors[0]?.message;
    return { ok: turn.ok, summary: turn.ok ? texts.join("") : (failed ?? "the turn did not finish"), sessionId: lease.sessionId };
  } finally {
    lease.release();
  }
}

/** The workflow's run, recorded in its session (`sessionId` when its transcript is there, else a new one) as it ends. */
async function runWorkflow(
  name: string,
  entry: ScheduleEntry & { workflow: string },
  sessionId: string | undefined,
  parts: ScheduleRunParts,
  signal: AbortSignal,
) {
  const now = parts.now ?? Date.now;
  const started = now();
  const workflow = parts.workflow(entry.workflow);
  let result: McpToolRun;
  try {
    result = workflow
      ? await workflow.run(entry.inputs ?? {}, signal)
      : { ok: false, error: `there is no workflow ${entry.workflow}; 'org workflow list' names them` };
  } catch (error) {
    result = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const run = { schedule: name, cron: entry.cron, workflow: entry.workflow, inputs: entry.inputs ?? {}, durationMs: Math.max(0, now() - started) };
  const summary = result.ok ? (JSON.stringify(result.output) ?? "null") : result.error;
  try {
    const recorded = recordWorkflowRun(
      { sessionsDir: parts.sessionsDir, ...(parts.memory ? { memory: parts.memory } : {}) },
      sessionId,
      result.ok ? { ...run, ok: true, output: result.output } : { ...run, ok: false, output: undefined, error: result.error },
      parts.secrets,
    );
    return { ok: result.ok, summary, sessionId: recorded };
  } catch (error) {
    // The run happened: its outcome stands, said without a session.
    const why = error instanceof Error ? error.message : String(error);
    return { ok: result.ok, summary: `${summary} (not recorded in a session: ${why})` };
  }
}

/**
 * Runs one schedule now, unattended: its message as a turn of its session (a persona's "ask" tools are denied, as in
 * serve's jobs: nobody is there to answer), or its workflow, its run recorded in its session. Audited with one line of
 * its own (tool `schedule`) beside the lines of the tools it ran. Never throws for a failed run: the outcome says it.
 */
export async function runSchedule(
  name: string,
  entry: ScheduleEntry,
  sessionId: string | undefined,
  parts: ScheduleRunParts,
  signal: AbortSignal,
): Promise<ScheduleOutcome> {
  const now = parts.now ?? Date.now;
  const started = now();
  let result: { ok: boolean; summary: string; sessionId?: string };
  try {
    if (entry.workflow !== undefined) result = await runWorkflow(name, { ...entry, workflow: entry.workflow }, sessionId, parts, signal);
    else if (entry.to !== undefined && entry.message !== undefined)
      result = await runMessage({ ...entry, to: entry.to, message: entry.message }, sessionId, parts, signal);
    else result = { ok: false, summary: "the schedule names neither a message nor a workflow" };
  } catch (error) {
    result = { ok: false, summary: error instanceof Error ? error.message : String(error) };
  }
  const durationMs = Math.max(0, now() - started);
  const summary = cut(redact(result.summary, parts.secrets));
  parts.audit?.record({
    time: new Date(started).toISOString(),
    sessionId: result.sessionId ?? SCHEDULE_AUDIT,
    persona: entry.to ?? SCHEDULE_AUDIT,
    requestId: `schedule:${name}`,
    tool: SCHEDULE_AUDIT,
    arguments: redactValue(
      {
        schedule: name,
        cron: entry.cron,
        ...(entry.workflow !== undefined ? { workflow: entry.workflow, inputs: entry.inputs ?? {} } : { to: entry.to, message: entry.message }),
      },
      parts.secrets,
    ),
    ok: result.ok,
    ...(result.ok ? {} : { error: failureLine(summary) }),
    durationMs,
    bytes: Buffer.byteLength(result.summary),
  });
  return { name, ok: result.ok, summary, ...(result.sessionId !== undefined ? { sessionId: result.sessionId } : {}), durationMs };
}
