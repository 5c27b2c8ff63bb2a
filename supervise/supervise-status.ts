import { z } from "zod";
import { join } from "node:path";
import { backupDirOf, listBackups } from "../backup/backup-retention.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { growPause } from "../grow/grow-pause.ts";
import { pidLockHolder } from "../security/pid-lock.ts";
import { IDLE_EVENT } from "./daily-report.ts";
import { activeMutes, isMuted } from "./mutes.ts";
import { LAST_ROUND_KEY, SUPERVISOR_DIR, type SupervisorState } from "./supervisor-state.ts";

const LastRound = z.object({ at: z.string(), ms: z.number() });
const iso = (at: number | null | undefined) => (at === null || at === undefined ? null : new Date(at).toISOString());

/** What `org supervise status` shows, as values (`--json` prints this). */
export type SuperviseStatus = {
  workspace: string;
  repo: string;
  supervisor: { pid: number; since: string } | null;
  lastRound: { at: string; ms: number } | null;
  checks: { name: string; state: string; detail: string; since: string | null; checkedAt: string | null }[];
  incidents: {
    id: string;
    pattern: string;
    key: string;
    title: string;
    detail: string;
    openedAt: string | null;
    seen: number;
    muted: boolean;
    diagnosis: string | null;
    fix: { id: string; action: string; target: string; state: string; by: string; detail: string } | null;
  }[];
  fixes: {
    id: string;
    incident: string;
    action: string;
    target: string;
    state: string;
    by: string;
    auto: boolean;
    detail: string;
    updatedAt: string | null;
    steps: string[];
  }[];
  lastBackup: { path: string; takenAt: string; bytes: number } | null;
  /** `text`: a mute of a fragment of an error's text (its `pattern` is `text:` and the fragment). */
  mutes: { pattern: string; text?: string; until: string | null }[];
  growPaused: { reason: string; since: string } | null;
  /** Idle work: whether the config turns it on (`--idle-work` may for one run), and what it did in the last day, newest last. */
  idleWork: { on: boolean; afterMinutes: number | null; recent: { at: string; text: string }[] };
};

/** Idle work's events of the last day the status lists. */
const IDLE_LISTED = 8;

/** Each check's state, the open incidents, the fixes of the last week and how they ended, the last backup. */
export function superviseStatus(
  setup: { workspaceDir: string; repoDir: string; config: OrgConfig },
  state: SupervisorState,
  now: number,
): SuperviseStatus {
  const holder = pidLockHolder(join(setup.workspaceDir, SUPERVISOR_DIR, "supervise.lock"));
  const last = state.get(LAST_ROUND_KEY);
  const round = LastRound.safeParse(JSON.parse(last ?? "null")).data ?? null;
  const backup = listBackups(backupDirOf(setup.workspaceDir, setup.config.backup))[0];
  const pause = growPause(setup.workspaceDir);
  return {
    workspace: setup.workspaceDir,
    repo: setup.repoDir,
    supervisor: holder ? { pid: holder.pid, since: holder.since } : null,
    lastRound: round ? { at: round.at, ms: round.ms } : null,
    checks: state
      .checks()
      .map((check) => ({ name: check.name, state: check.state, detail: check.detail, since: iso(check.changedAt), checkedAt: iso(check.checkedAt) })),
    incidents: state.openIncidents().map((incident) => {
      const fix = state.fixesOf(incident.id)[0];
      return {
        id: incident.id,
        pattern: incident.pattern,
        key: incident.key,
        title: incident.title,
        detail: incident.detail,
        openedAt: iso(incident.openedAt),
        seen: incident.seen,
        muted: isMuted(state, incident, now),
        diagnosis: incident.diagnosis,
        fix: fix ? { id: fix.id, action: fix.action, target: fix.target, state: fix.state, by: fix.by, detail: fix.detail } : null,
      };
    }),
    fixes: state.recentFixes(now - 7 * 86_400_000, 30).map((fix) => ({
      id: fix.id,
      incident: fix.incident,
      action: fix.action,
      target: fix.target,
      state: fix.state,
      by: fix.by,
      auto: fix.auto,
      detail: fix.detail,
      updatedAt: iso(fix.updatedAt),
      steps: state.fixEvents(fix.id).map((event) => `${event.state} ${new Date(event.at).toISOString()}`),
    })),
    lastBackup: backup ? { path: backup.path, takenAt: backup.takenAt.toISOString(), bytes: backup.bytes } : null,
    mutes: activeMutes(state, now).map((mute) => ({
      pattern: mute.pattern,
      ...(mute.text !== undefined ? { text: mute.text } : {}),
      until: iso(mute.until),
    })),
    growPaused: pause ? { reason: pause.reason, since: pause.since } : null,
    idleWork: {
      on: setup.config.supervise.idleWork !== undefined,
      afterMinutes: setup.config.supervise.idleWork?.afterMinutes ?? null,
      recent: state
        .eventsBetween(now - 86_400_000, now + 1)
        .filter((event) => event.kind === IDLE_EVENT)
        .slice(-IDLE_LISTED)
        .map((event) => ({ at: new Date(event.at).toISOString(), text: event.text })),
    },
  };
}

/** The status as lines for the terminal. */
export function statusLines(status: SuperviseStatus): string[] {
  const lines = [
    status.supervisor
      ? `org supervise runs (pid ${status.supervisor.pid}, since ${status.supervisor.since}) for ${status.workspace}`
      : `no org supervise runs for ${status.workspace} now`,
    status.lastRound ? `last round ${status.lastRound.at} (${status.lastRound.ms} ms)` : "no round yet: org supervise --once runs one",
    "",
    "checks:",
    ...status.checks.map((check) => `  ${check.state.padEnd(5)} ${check.name.padEnd(12)} ${check.detail}`),
    "",
    status.incidents.length === 0 ? "open incidents: none" : `open incidents (${status.incidents.length}):`,
  ];
  for (const incident of status.incidents) {
    lines.push(
      `  ${incident.id} ${incident.title}${incident.muted ? " (muted)" : ""} — since ${incident.openedAt}, ` +
        `seen ${incident.seen}×: ${incident.detail}`,
    );
    if (incident.diagnosis) lines.push(`    diagnosis: ${incident.diagnosis}`);
    if (incident.fix)
      lines.push(
        `    fix ${incident.fix.id} ${incident.fix.action} ${incident.fix.target}: ` +
          `${incident.fix.state}${incident.fix.state === "proposed" ? ` (org supervise apply ${incident.fix.id})` : ""} — ${incident.fix.detail}`,
      );
  }
  lines.push("", status.fixes.length === 0 ? "fixes this week: none" : `fixes this week (newest first):`);
  for (const fix of status.fixes)
    lines.push(`  ${fix.id} ${fix.action} ${fix.target} (${fix.by}${fix.auto ? ", auto" : ""}): ${fix.state} ${fix.updatedAt} — ${fix.detail}`);
  lines.push(
    "",
    status.lastBackup
      ? `last backup: ${status.lastBackup.path} (${status.lastBackup.takenAt}, ${(status.lastBackup.bytes / 1024 / 1024).toFixed(1)} MiB)`
      : "last backup: none yet (org backup, or the supervisor's daily one)",
  );
  lines.push(
    status.idleWork.on
      ? `idle work: on, after ${status.idleWork.afterMinutes} minutes without a person's message (supervise.idleWork)`
      : "idle work: off (supervise.idleWork unset or not confirmed; org supervise --idle-work turns it on for a run)",
  );
  for (const event of status.idleWork.recent) lines.push(`  ${event.at} ${event.text}`);
  if (status.growPaused) lines.push(`unattended grow runs paused since ${status.growPaused.since}: ${status.growPaused.reason}`);
  for (const mute of status.mutes)
    lines.push(
      `muted: ${
        mute.text !== undefined ? `the text ` + `${JSON.stringify(mute.text)}` : mute.pattern
      }${mute.until ? ` until ${mute.until}` : " (for ever)"}`,
    );
  return lines;
}
