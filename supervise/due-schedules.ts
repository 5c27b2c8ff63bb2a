import type { ScheduleEntry, ScheduleSettings } from "../config/schedule-settings.ts";
import { lastDueTime, nextCronTime, parseCron } from "../schedule/cron.ts";
import type { ScheduleStates } from "./schedule-state.ts";

/** A schedule whose time has come: its newest missed cron minute (`slot`). */
export type DueRun = { name: string; entry: ScheduleEntry; slot: number };

/**
 * The schedules due at `now`, each once, for its newest cron minute since its last run (or since it was first seen): a
 * run missed while nothing ran is owed once, however many minutes it missed. A schedule seen for the first time is
 * marked seen in `states` (it owes nothing before); a paused one is left out.
 */
export function dueSchedules(schedules: ScheduleSettings, states: ScheduleStates, now: number): DueRun[] {
  const due: DueRun[] = [];
  for (const [name, entry] of Object.entries(schedules)) {
    const record = states.schedules[name];
    if (record === undefined) {
      states.schedules[name] = { seenAt: now };
      continue;
    }
    if (record.paused) continue;
    const slot = lastDueTime(parseCron(entry.cron), Math.max(record.seenAt, record.lastSlot ?? 0), now);
    if (slot !== undefined) due.push({ name, entry, slot });
  }
  return due;
}

/** Records that the run of `slot` is under way, before it runs: a crash during it never runs that minute again. */
export function claimRun(states: ScheduleStates, name: string, slot: number, now: number): void {
  const record = states.schedules[name] ?? { seenAt: now };
  states.schedules[name] = {
    seenAt: record.seenAt,
    ...(record.paused ? { paused: true } : {}),
    lastSlot: slot,
    startedAt: now,
    ...sessionOf(record),
  };
}

const sessionOf = (record: { sessionId?: string }) => (record.sessionId !== undefined ? { sessionId: record.sessionId } : {});

/** The next time the schedule runs after `now`, or undefined when its expression never runs. */
export function nextRunOf(entry: ScheduleEntry, now: number): number | undefined {
  return nextCronTime(parseCron(entry.cron), now);
}
