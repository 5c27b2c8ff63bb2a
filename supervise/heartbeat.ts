import { z } from "zod";
import { backupHolds } from "../backup/backup-holds.ts";
import { backupDirOf, listBackups } from "../backup/backup-retention.ts";
import { orgCommand } from "../config/org-bun-command.ts";
import { REPORT_WRITTEN_KEY, writeDailyReport, writeTodaysReport } from "./daily-report.ts";
import { isMuted } from "./mutes.ts";
import { runDueSchedules } from "./scheduled-prompts.ts";
import { configArguments, dataLine, type SuperviseContext } from "./supervise-check.ts";
import { closeIncident, type RoundSummary } from "./supervise-round.ts";
import { notify } from "./webhook.ts";
import { weekStart, writeWeeklyDigest } from "./weekly-digest.ts";
import { writeObservedProfile } from "../memory/observed-profile.ts";
import { observeQuietSessions, observerModel } from "./observe-sessions.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Today's report is written again at most this often. */
const REPORT_EVERY_MS = 10 * 60_000;
/** What the state keeps of events, attempts and error lines. */
const KEEP_MS = 60 * DAY_MS;
/** The last backup the heartbeat took (JSON: path, at, bytes, entries). */
export const LAST_BACKUP_KEY = "backup:last";

const BackupOutput = z.object({
  path: z.string(),
  bytes: z.number(),
  entries: z.number(),
  skipped: z.array(z.unknown()),
  dropped: z.array(z.string()),
});

/**
 * `org backup` for the workspace and checkout, as a process of its own: it opens by path (to check and copy them) the
 * databases this process holds, and a file opened and closed in this process would drop this process's SQLite locks on
 * it. Bounded by an hour; its JSON line, or why it failed.
 */
async function runBackup(context: SuperviseContext): Promise<z.infer<typeof BackupOutput>> {
  const child = Bun.spawn(
    orgCommand(["backup", "--json", "--workspace", context.workspaceDir, "--repo", context.repoDir, ...configArguments(context)]),
    {
      cwd: context.workspaceDir,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: 3_600_000,
      signal: context.signal,
    },
  );
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(err.trim().split("\n").slice(-3).join(" / ") || `org backup exited with ${code}`);
  return BackupOutput.parse(JSON.parse(out.trim().split("\n").at(-1) ?? ""));
}

/** The daily backup, when the newest in the backup folder is a day old (a failed one is tried again after an hour). */
async function dailyBackup(context: SuperviseContext, summary: RoundSummary): Promise<void> {
  const { state } = context;
  const now = context.now();
  const dir = backupDirOf(context.workspaceDir, context.config.backup);
  const newest = listBackups(dir)[0];
  if (newest && now - newest.takenAt.getTime() < DAY_MS) return;
  if (now - Number(state.get("backup:tried") ?? 0) < HOUR_MS) return;
  state.set("backup:tried", String(now));
  try {
    const outcome = await (context.takeBackup ?? runBackup)(context);
    state.set(
      LAST_BACKUP_KEY,
      JSON.stringify({ path: outcome.path, at: now, bytes: outcome.bytes, entries: outcome.entries, skipped: outcome.skipped.length }),
    );
    // Taken unasked, once a day: said with its size and what it holds, and how it is kept.
    const text =
      `daily backup ${outcome.path} (${outcome.entries} entries, ${(outcome.bytes / 1024 / 1024).toFixed(1)} MiB): ` +
      `${backupHolds(context.repoDir, context.workspaceDir)}; one a day into backup.dir, kept by backup.keep` +
      `${outcome.dropped.length > 0 ? `, which removed ${outcome.dropped.length}` : ""}`;
    state.event("backup", text, now);
    context.say(text);
    const failed = state.openIncidentOf("heartbeat", "backup");
    if (failed) await closeIncident(failed, undefined, context, `a backup was taken: ${outcome.path}`, summary);
  } catch (error) {
    if (context.signal.aborted) throw error;
    const detail = dataLine(context, `the daily backup into ${dir} failed: ${error instanceof Error ? error.message : String(error)}`, 2000);
    const { incident, opened } = state.openIncident("heartbeat", "backup", "the daily backup failed", detail, now);
    context.say(detail);
    if (opened) {
      summary.opened.push({ id: incident.id, pattern: "heartbeat", title: incident.title });
      if (!isMuted(state, incident, now))
        await notify(context, { incident: incident.id, kind: "opened", text: `incident ${incident.id}: ${detail}` });
      writeTodaysReport(context);
    }
  }
}

/** Today's report (every REPORT_EVERY_MS, and whenever an incident or a fix moves), and yesterday's once more when the day has turned. */
function dailyReports(context: SuperviseContext): void {
  const { state } = context;
  const now = context.now();
  const yesterday = new Date(now - DAY_MS).toISOString().slice(0, 10);
  if (
    state.get("report:final") !== yesterday &&
    state.get("report:first") !== undefined &&
    Number(state.get("report:first")) < now - (now % DAY_MS)
  ) {
    writeDailyReport(state, now - DAY_MS, context);
    state.set("report:final", yesterday);
  }
  state.set("report:first", state.get("report:first") ?? String(now));
  if (now - Number(state.get(REPORT_WRITTEN_KEY) ?? 0) < REPORT_EVERY_MS) return;
  writeTodaysReport(context);
}

/** Last week's digest, once the week has turned (and the supervisor ran in it). */
async function weeklyDigest(context: SuperviseContext): Promise<void> {
  const { state } = context;
  const now = context.now();
  const thisWeek = weekStart(now);
  const first = Number(state.get("report:first") ?? now);
  if (first >= thisWeek) return;
  const last = thisWeek - 7 * DAY_MS;
  if (state.get("digest:last") === String(last)) return;
  const path = await writeWeeklyDigest(state, context, last);
  const profile = writeObservedProfile(context.workspaceDir, context.config.observer.profileChars);
  state.set("digest:last", String(last));
  const left = profile.left > 0 ? `, ${profile.left} left out` : "";
  const said = `weekly digest ${path}; profile ${profile.path} (${profile.kept} fact${profile.kept === 1 ? "" : "s"}${left})`;
  state.event("digest", said, now);
  context.say(said);
}

/**
 * What `org supervise` does besides its checks, each when it is due: the schedules (`scheduled-prompts.ts`), the daily
 * backup (and `backup.keep`), the daily report, last week's digest (and the profile), the observer's reading of quiet
 * sessions (`observe-sessions.ts`), and dropping what the state keeps past 60 days.
 * Logs are rotated by the logs check each round.
 */
export async function heartbeat(context: SuperviseContext, summary: RoundSummary): Promise<void> {
  await runDueSchedules(context);
  await dailyBackup(context, summary);
  dailyReports(context);
  await weeklyDigest(context);
  await observeQuietSessions(context, context.config.observer.promote === "off" ? undefined : observerModel(context.config));
  const now = context.now();
  if (now - Number(context.state.get("prune:at") ?? 0) >= DAY_MS) {
    context.state.prune(now - KEEP_MS);
    context.state.set("prune:at", String(now));
  }
}
