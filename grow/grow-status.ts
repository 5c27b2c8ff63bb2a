import { formatDuration } from "../config/duration.ts";
import type { GrowSettings } from "../config/grow-settings.ts";
import { type GrowLockHolder, growLockHolder } from "./grow-lock.ts";
import { type GrowReport, readGrowReport, reportIds, reportPath, summaryLine, unheardLine } from "./grow-report.ts";
import { readGrowState } from "./grow-state.ts";
import type { ProposalState } from "./proposal.ts";

/** What `org grow status` says: the last run, a run under way, the proposals by state, what waits for a person. */
export type GrowStatus = {
  running?: GrowLockHolder;
  last?: {
    id: string;
    path: string;
    state: GrowReport["state"] | "interrupted";
    startedAt: string;
    endedAt?: string;
    summary: string;
    report: GrowReport;
  };
  runs: number;
  proposals: Partial<Record<ProposalState, number>>;
  waiting: { proposal: string; tool?: string; branch: string }[];
  pendingRemovals: { proposal: string; tool?: string }[];
  every: string;
  autoPromote: boolean;
};

/** The workspace's grow status, read from `.org/grow/` alone. */
export function growStatus(workspaceDir: string, settings: GrowSettings): GrowStatus {
  const running = growLockHolder(workspaceDir);
  const ids = reportIds(workspaceDir);
  const lastId = ids.at(-1);
  const report = lastId === undefined ? undefined : readGrowReport(workspaceDir, lastId);
  const state = readGrowState(workspaceDir);
  const proposals: GrowStatus["proposals"] = {};
  for (const proposal of state.proposals) proposals[proposal.state] = (proposals[proposal.state] ?? 0) + 1;
  return {
    ...(running ? { running } : {}),
    ...(report && lastId
      ? {
          last: {
            id: lastId,
            path: reportPath(workspaceDir, lastId),
            // A report still "running" whose run holds no lock was cut short (kill -9, a crash).
            state: report.state === "running" && running?.pid !== report.pid ? "interrupted" : report.state,
            startedAt: report.startedAt,
            ...(report.endedAt ? { endedAt: report.endedAt } : {}),
            summary: summaryLine(report),
            report,
          },
        }
      : {}),
    runs: ids.length,
    proposals,
    waiting: state.proposals.flatMap((proposal) =>
      proposal.state === "built" && proposal.branch
        ? [{ proposal: proposal.id, ...(proposal.tool ? { tool: proposal.tool } : {}), branch: proposal.branch }]
        : [],
    ),
    pendingRemovals: state.proposals.flatMap((proposal) =>
      proposal.kind === "remove" && proposal.state === "pending"
        ? [{ proposal: proposal.id, ...(proposal.tool ? { tool: proposal.tool } : {}) }]
        : [],
    ),
    every: formatDuration(settings.every),
    autoPromote: settings.autoPromote,
  };
}

/** The status as lines for a person; `shown` writes a path as the person may type it. */
export function statusLines(status: GrowStatus, shown: (path: string) => string = (path) => path): string[] {
  const lines: string[] = [];
  lines.push(status.running ? `running now: pid ${status.running.pid} (${status.running.command}) since ${status.running.since}` : "no run now");
  if (status.last) {
    const ended = status.last.endedAt ? `, ended ${status.last.endedAt}` : "";
    lines.push(`last run ${status.last.id} (${status.last.state}; started ${status.last.startedAt}${ended}): ${status.last.summary}`);
    if (status.last.report.error) lines.push(`  it failed: ${status.last.report.error}`);
    const unheard = unheardLine(status.last.report);
    if (unheard) lines.push(`  ${unheard}`);
    lines.push(`  report: ${shown(status.last.path)}`);
  } else lines.push("no run yet: org grow --once");
  const counts = Object.entries(status.proposals).map(([state, count]) => `${count} ${state}`);
  lines.push(`proposals: ${counts.length > 0 ? counts.join(", ") : "none"}`);
  for (const waiting of status.waiting)
    lines.push(`waiting for org promote ${waiting.branch}: ${waiting.tool ?? "?"} (proposal ${waiting.proposal})`);
  for (const removal of status.pendingRemovals)
    lines.push(`proposed for removal: ${removal.tool ?? "?"} (proposal ${removal.proposal}; org rollback ${removal.tool ?? "TOOL"} removes it)`);
  lines.push(`runs: ${status.runs} so far; every ${status.every} (grow.every); autoPromote ${status.autoPromote ? "on" : "off"} (grow.autoPromote)`);
  return lines;
}
