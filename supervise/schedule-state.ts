import { join } from "node:path";
import { z } from "zod";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { SCHEDULE_NAME } from "../config/schedule-settings.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";

/** `.org/schedules/state.json`: each schedule's last run and whether it is paused; the sessions runs go on in. */
export const SCHEDULE_STATE_FILE = join(ORG_DIR, "schedules", "state.json");

/** What the state keeps of one schedule. */
const ScheduleRecord = z.object({
  /** When the heartbeat first saw it: runs before that are not owed. */
  seenAt: z.number(),
  paused: z.boolean().optional(),
  /** The cron minute of the last run (claimed before it ran), and when that run started and ended. */
  lastSlot: z.number().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  ok: z.boolean().optional(),
  /** A line on how it ended (redacted, at most 300 characters). */
  summary: z.string().max(2_000).optional(),
  sessionId: z.string().max(200).optional(),
});
export type ScheduleRecord = z.infer<typeof ScheduleRecord>;

const StateFile = z.object({
  schedules: z.record(z.string().regex(SCHEDULE_NAME), ScheduleRecord).default({}),
  /** Session name → the room session its runs go on in. */
  sessions: z.record(z.string().regex(SCHEDULE_NAME), z.string().regex(/^[A-Za-z0-9-]{1,100}$/)).default({}),
});
export type ScheduleStates = z.infer<typeof StateFile>;

/** The state as the file holds it; an empty one when there is none, or it is not what org wrote (nothing is then owed). */
export function readScheduleStates(workspaceDir: string): ScheduleStates {
  let text: string;
  try {
    text = readPrivateFile(join(workspaceDir, SCHEDULE_STATE_FILE));
  } catch {
    return { schedules: {}, sessions: {} };
  }
  try {
    const parsed = StateFile.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // a damaged file: begun anew below
  }
  return { schedules: {}, sessions: {} };
}

/**
 * Reads the state, lets `change` edit it, and writes it back whole (a temporary file renamed over it, fsynced when
 * `durable`), so a crash leaves the old state or the new one. Returns what `change` returned.
 */
export function updateScheduleStates<T>(workspaceDir: string, change: (states: ScheduleStates) => T, durable = true): T {
  const states = readScheduleStates(workspaceDir);
  const result = change(states);
  const path = join(workspaceDir, SCHEDULE_STATE_FILE);
  ensurePrivateDir(join(workspaceDir, ORG_DIR, "schedules"));
  writePrivateFile(path, `${JSON.stringify(states, null, 2)}\n`, { durable });
  return result;
}

/** Records how a run ended, and the session its schedule's runs go on in from now. */
export function recordOutcome(
  states: ScheduleStates,
  run: { name: string; sessionName: string; ok: boolean; summary: string; sessionId?: string },
  at: { startedAt: number; finishedAt: number },
): void {
  const record = states.schedules[run.name] ?? { seenAt: at.startedAt };
  states.schedules[run.name] = {
    ...record,
    startedAt: at.startedAt,
    finishedAt: at.finishedAt,
    ok: run.ok,
    summary: run.summary,
    ...(run.sessionId !== undefined ? { sessionId: run.sessionId } : {}),
  };
  if (run.sessionId !== undefined) states.sessions[run.sessionName] = run.sessionId;
}
