import { join } from "node:path";
import { ensurePrivateDir, writePrivateFile } from "../security/private-state.ts";
import { SUPERVISOR_DIR, type SupervisorState } from "./supervisor-state.ts";

/** The daily reports: `.org/supervisor/reports/<YYYY-MM-DD>.md`. */
export const REPORTS_DIR = join(SUPERVISOR_DIR, "reports");

const DAY_MS = 86_400_000;
/** The supervisor's event kind of idle work (`idle-work.ts`), listed in a section of its own. */
export const IDLE_EVENT = "idle";
const time = (at: number) => new Date(at).toISOString().slice(11, 19);
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").slice(0, 300);

/** The start of the UTC day of `at`. */
export function dayStart(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/** One day's report as Markdown: the checks as they stand, the incidents and fixes of the day with their lifecycle, the notices sent. */
export function dailyReport(state: SupervisorState, day: number, context: { workspaceDir: string; repoDir: string }): string {
  const from = dayStart(day);
  const to = from + DAY_MS;
  const date = new Date(from).toISOString().slice(0, 10);
  const lines = [
    `# org supervise — ${date}`,
    "",
    `Workspace ${context.workspaceDir}; checkout ${context.repoDir}. Times are UTC.`,
    "",
    "## Checks",
    "",
  ];
  lines.push("| check | state | since | last checked | detail |", "| --- | --- | --- | --- | --- |");
  for (const check of state.checks())
    lines.push(
      `| ${check.name} | ${check.state} | ${new Date(check.changedAt).toISOString().slice(0, 16)} | ` +
        `${new Date(check.checkedAt).toISOString().slice(0, 16)} | ${cell(check.detail)} |`,
    );
  // Every incident open at some time of the day: one opened days ago and still open is today's news too.
  const incidents = state.incidentsDuring(from, to);
  lines.push("", `## Incidents (${incidents.length})`, "");
  if (incidents.length === 0) lines.push("None.");
  for (const incident of incidents) {
    const end = incident.resolvedAt !== null ? `resolved ${new Date(incident.resolvedAt).toISOString().slice(0, 19)}` : "open";
    lines.push(
      `- **${incident.id}** ${cell(incident.title)} (${incident.pattern}; opened ` +
        `${new Date(incident.openedAt).toISOString().slice(0, 19)}, ${end}, seen ${incident.seen}×): ${cell(incident.detail)}`,
    );
    if (incident.diagnosis) lines.push(`  - diagnosis: ${cell(incident.diagnosis)}`);
    for (const fix of [...state.fixesOf(incident.id)].reverse()) {
      const steps = state
        .fixEvents(fix.id)
        .map((event) => `${event.state} ${time(event.at)}`)
        .join(" → ");
      lines.push(`  - fix ${fix.id} \`${fix.action} ${cell(fix.target)}\` by ${fix.by}${fix.auto ? " (auto)" : ""}: ${steps}: ${cell(fix.detail)}`);
    }
  }
  const events = state.eventsBetween(from, to);
  const notices = events.filter((event) => event.kind === "notice");
  lines.push("", `## Notices (${notices.length})`, "");
  if (notices.length === 0) lines.push("None.");
  for (const event of notices) lines.push(`- ${time(event.at)} ${cell(event.text)}`);
  const idle = events.filter((event) => event.kind === IDLE_EVENT);
  if (idle.length > 0) {
    lines.push("", `## Idle work (${idle.length})`, "");
    for (const event of idle) lines.push(`- ${time(event.at)} ${cell(event.text)}`);
  }
  const other = events.filter((event) => !["notice", "incident", "recovered", IDLE_EVENT].includes(event.kind));
  if (other.length > 0) {
    lines.push("", "## Heartbeat and other events", "");
    for (const event of other) lines.push(`- ${time(event.at)} ${event.kind}: ${cell(event.text)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** When today's report was last written (ms, in the state's key-value table). */
export const REPORT_WRITTEN_KEY = "report:written";

/**
 * Today's report written now: when an incident opens or closes, a fix moves on, and when the supervisor stops (besides
 * the heartbeat's every ten minutes, for the checks' states). Returns its path.
 */
export function writeTodaysReport(context: { state: SupervisorState; workspaceDir: string; repoDir: string; now: () => number }): string {
  const now = context.now();
  const path = writeDailyReport(context.state, now, context);
  context.state.set(REPORT_WRITTEN_KEY, String(now));
  return path;
}

/** Writes the report of the day of `day` (rewritten while the day lasts); returns its path. */
export function writeDailyReport(state: SupervisorState, day: number, context: { workspaceDir: string; repoDir: string }): string {
  const dir = ensurePrivateDir(join(context.workspaceDir, REPORTS_DIR));
  const path = join(dir, `${new Date(dayStart(day)).toISOString().slice(0, 10)}.md`);
  writePrivateFile(path, dailyReport(state, day, context));
  return path;
}
