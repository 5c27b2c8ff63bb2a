import { z } from "zod";
import { CronError, parseCron } from "../schedule/cron.ts";

/** A schedule's name: what `org schedule run NAME` and the state file know it by. */
export const SCHEDULE_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/;

/** One entry of `schedules`: when (cron), and what runs — a message to a persona, or a saved workflow with its inputs. */
export const ScheduleEntry = z
  .strictObject({
    /** Five fields, local time: minute hour day-of-month month day-of-week (`*`, lists, ranges, steps, jan–dec, sun–sat). */
    cron: z.string().superRefine((text, context) => {
      try {
        parseCron(text);
      } catch (error) {
        if (!(error instanceof CronError)) throw error;
        context.addIssue({ code: "custom", message: error.message });
      }
    }),
    /** The persona the message goes to (direct mode). */
    to: z.string().min(1).max(64).optional(),
    message: z.string().min(1).max(20_000).optional(),
    /** A saved workflow's name (the workspace's `workflows/`, then the checkout's), run with `inputs`. */
    workflow: z.string().min(1).max(64).optional(),
    inputs: z.record(z.string(), z.unknown()).optional(),
    /** The room session a message's runs go on in, by name (one session a name); default: the schedule's own. */
    session: z.string().regex(SCHEDULE_NAME, "a session name: lowercase letters, digits, - and _, at most 48").optional(),
    /** Each run's outcome also goes to the supervisor's channels (supervise.webhook, supervise.telegram). */
    notify: z.boolean().optional(),
  })
  .superRefine((entry, context) => {
    const message = entry.to !== undefined || entry.message !== undefined;
    if (message === (entry.workflow !== undefined) || (message && (entry.to === undefined || entry.message === undefined)))
      context.addIssue({
        code: "custom",
        message: 'a schedule runs either a message ("to" a persona and a "message") or a "workflow" (with "inputs"), one of the two',
      });
  });
export type ScheduleEntry = z.infer<typeof ScheduleEntry>;

/** `schedules` in org.config.json: named entries. */
export const ScheduleSettings = z.record(
  z.string().regex(SCHEDULE_NAME, "a schedule name: lowercase letters, digits, - and _, at most 48"),
  ScheduleEntry,
);
export type ScheduleSettings = z.infer<typeof ScheduleSettings>;
