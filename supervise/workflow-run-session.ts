import type { TranscriptIndex } from "../room/memory-indexer.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { newSessionId, SessionNotFoundError, Transcript, transcriptPath } from "../room/transcript.ts";
import { existsSync } from "node:fs";
import { redact, redactValue } from "../security/redact.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";

/**
 * Who a workflow run's message is from in its session: the schedule that ran it, `schedule NAME`, which no persona's
 * name can be (a persona hears its own messages, and none may hear a workflow's output as its own words).
 */
export const scheduleSpeaker = (schedule: string) => `schedule ${schedule}`;
/** Characters of a workflow's result text, and of its data as JSON, that its session keeps. */
export const RESULT_TEXT_CHARS = 4_000;
export const RESULT_DATA_CHARS = 4_000;
const INPUTS_CHARS = 500;

/** One workflow run of a schedule as its session records it; texts and values as the workflow gave them (cleaned here). */
export type WorkflowRunRecord = {
  schedule: string;
  cron: string;
  workflow: string;
  inputs: unknown;
  ok: boolean;
  /** The workflow's output (ok), or why it failed. */
  output: unknown;
  error?: string;
  durationMs: number;
};

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

const cutText = (text: string, limit: number) => (text.length > limit ? `${text.slice(0, limit)}… (cut at ${limit} characters)` : text);

/** A value from a workflow as a transcript may hold it: secrets taken out, every control character a visible escape. */
function cleanValue(value: unknown, secrets: readonly string[]): unknown {
  const redacted = redactValue(value, secrets);
  const visible = (item: unknown): unknown => {
    if (typeof item === "string") return sanitizeForTerminal(item);
    if (Array.isArray(item)) return item.map(visible);
    if (item !== null && typeof item === "object")
      return Object.fromEntries(Object.entries(item).map(([key, inner]) => [sanitizeForTerminal(key), visible(inner)]));
    return item;
  };
  return visible(redacted);
}

const cleanText = (text: string, secrets: readonly string[], limit: number) => cutText(sanitizeForTerminal(redact(text, secrets)), limit);

const textOf = (output: unknown) => (typeof output === "string" ? output : (JSON.stringify(output) ?? "null"));

/** The run's inputs as its session keeps them (secrets out, escapes visible), and as text cut to a bound. */
function cleanInputs(given: unknown, secrets: readonly string[]) {
  const inputs = cleanValue(given ?? {}, secrets);
  return { inputs, inputsText: cutText(JSON.stringify(inputs) ?? "{}", INPUTS_CHARS) };
}

/**
 * The text of the turn a workflow run of schedule `run.schedule` starts in its session. Idle work reads a session's
 * turns for a person's words, and this one is not: it is made from the schedule's settings alone, so the same text
 * can be told apart there.
 */
export function workflowRunTurnText(run: { schedule: string; cron: string; workflow: string; inputs?: unknown }, secrets: readonly string[]): string {
  const workflow = sanitizeForTerminal(run.workflow);
  return `schedule ${run.schedule} (${run.cron}) ran workflow ${workflow} with ${cleanInputs(run.inputs, secrets).inputsText}`;
}

/**
 * The events of one run: a turn whose text says which schedule ran which workflow with what inputs, the workflow as a
 * tool call and its result (text and data, redacted, cut), and a message from `schedule NAME` saying how it ended. The
 * message is heard by no persona: the output is a tool's that nobody read, and it reaches a model only when the person
 * asks for it (memory search, or quoting it).
 */
export function workflowRunEvents(run: WorkflowRunRecord, secrets: readonly string[], now = new Date()): RoomEvent[] {
  const id = crypto.randomUUID().slice(0, 8);
  const turnId = `schedule-${id}`;
  const replyId = `${turnId}-run`;
  const { inputs, inputsText } = cleanInputs(run.inputs, secrets);
  const call = {
    id: replyId,
    name: sanitizeForTerminal(run.workflow),
    // Inputs that are not an object, or were cut, are the call's one argument as text.
    arguments: isRecord(inputs) && inputsText === JSON.stringify(inputs) ? inputs : { inputs: inputsText },
  };
  const data = run.ok ? cleanValue(run.output, secrets) : undefined;
  const output = run.ok ? cleanText(textOf(data), secrets, RESULT_TEXT_CHARS) : cleanText(run.error ?? "it failed", secrets, RESULT_TEXT_CHARS);
  const keepData = data !== undefined && (JSON.stringify(data) ?? "").length <= RESULT_DATA_CHARS;
  const said = workflowRunTurnText(run, secrets);
  const seconds = (run.durationMs / 1000).toFixed(1);
  const text = run.ok ? `workflow ${call.name}: ok in ${seconds} s\n${output}` : `workflow ${call.name}: failed after ${seconds} s`;
  const speaker = scheduleSpeaker(run.schedule);
  const stamp = { replyId, persona: speaker };
  return [
    { type: "turn-start", turnId, text: said, mode: "group", addressed: [] },
    { type: "tool-call", ...stamp, call },
    { type: "tool-result", ...stamp, call, ok: run.ok, output, ...(keepData ? { data } : {}), durationMs: run.durationMs },
    {
      type: "message",
      persona: speaker,
      message: {
        id: replyId,
        turnId,
        from: speaker,
        text,
        time: now.toISOString(),
        heardBy: [],
        addressed: [],
        ...(run.ok ? {} : { failed: output }),
      },
    },
    { type: "turn-end", turnId, ok: run.ok, stats: {} },
  ];
}

/**
 * Records a workflow run in a room session through the room's transcript writer (each line sealed, told to memory):
 * in `sessionId` when its transcript is there (the schedule's runs go on in one session, as a message's do), else in
 * a new one. Returns the session's id.
 */
export function recordWorkflowRun(
  where: { sessionsDir: string; memory?: TranscriptIndex },
  sessionId: string | undefined,
  run: WorkflowRunRecord,
  secrets: readonly string[],
): string {
  let id = sessionId;
  try {
    if (id !== undefined && !existsSync(transcriptPath(where.sessionsDir, id))) id = undefined;
  } catch (error) {
    // A state file naming no session id of org's: the runs go on in a new one.
    if (!(error instanceof SessionNotFoundError)) throw error;
    id = undefined;
  }
  const session = id ?? newSessionId();
  const { memory } = where;
  const onLine = memory
    ? (line: Parameters<TranscriptIndex["index"]>[1]) => {
        try {
          memory.index(session, line);
        } catch {
          // The transcript keeps the line; 'org memory rebuild' indexes it again.
        }
      }
    : undefined;
  const transcript = Transcript.open(where.sessionsDir, session, { personas: [], mode: "group" }, onLine ? { onLine } : {});
  try {
    for (const event of workflowRunEvents(run, secrets)) transcript.append(event);
  } finally {
    transcript.close();
  }
  return session;
}
