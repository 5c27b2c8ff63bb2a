import { z } from "zod";
import { orgCommand } from "../config/org-bun-command.ts";
import { claimRun, dueSchedules } from "./due-schedules.ts";
import { updateScheduleStates } from "./schedule-state.ts";
import type { ScheduleOutcome } from "./scheduled-run.ts";
import { configArguments, type SuperviseContext } from "./supervise-check.ts";
import { notify } from "./webhook.ts";

/** A run is stopped past this (it is a turn or a workflow, each bounded by its own limits long before). */
const RUN_BOUND_MS = 30 * 60_000;

const Outcome = z.object({ name: z.string(), ok: z.boolean(), summary: z.string(), sessionId: z.string().optional(), durationMs: z.number() });

/**
 * `org schedule run NAME --json` as a process of its own, as the backup is: it opens the room (its sandbox, tools and
 * memory) and records the run in the schedules' state; its last line is the outcome.
 */
async function runScheduleProcess(context: SuperviseContext, name: string): Promise<ScheduleOutcome> {
  const child = Bun.spawn(orgCommand(["schedule", "run", name, "--json", "--workspace", context.workspaceDir, ...configArguments(context)]), {
    cwd: context.workspaceDir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: RUN_BOUND_MS,
    signal: context.signal,
  });
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const parsed = Outcome.safeParse(
    (() => {
      try {
        return JSON.parse(out.trim().split("\n").at(-1) ?? "");
      } catch {
        return undefined;
      }
    })(),
  );
  if (parsed.success) return parsed.data;
  return { name, ok: false, summary: err.trim().split("\n").slice(-2).join(" / ") || `org schedule run ${name} said nothing`, durationMs: 0 };
}

/**
 * The heartbeat's schedules: each schedule of `schedules` (only those confirmed with `org config trust`) whose cron
 * minute has come since its last run runs once, its newest missed minute claimed in `.org/schedules/state.json` before
 * it runs (so a run is never doubled, and downtime owes one run, not one per minute missed). Each run is said in the
 * supervisor's log and events, and to its channels when the schedule says `notify: true`.
 */
export async function runDueSchedules(context: SuperviseContext): Promise<void> {
  const { schedules } = context.config;
  if (Object.keys(schedules).length === 0) return;
  const now = context.now();
  const due = updateScheduleStates(context.workspaceDir, (states) => {
    const found = dueSchedules(schedules, states, now);
    for (const run of found) claimRun(states, run.name, run.slot, now);
    return found;
  });
  for (const run of due) {
    if (context.signal.aborted) return;
    const outcome = await (context.runSchedule ?? runScheduleProcess)(context, run.name);
    const text =
      `schedule ${run.name} (${run.entry.cron}) ran for ${new Date(run.slot).toISOString()}: ${outcome.ok ? "ok" : "failed"}` +
      `${outcome.sessionId !== undefined ? ` in session ${outcome.sessionId}` : ""}: ${outcome.summary}`;
    context.state.event("schedule", text, context.now());
    context.say(text);
    if (run.entry.notify === true) await notify(context, { incident: `schedule:${run.name}`, kind: "scheduled", text, once: String(run.slot) });
  }
}
