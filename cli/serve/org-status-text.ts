import { existsSync } from "node:fs";
import { join } from "node:path";
import { instanceSettings } from "../../config/environment.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { growStatus, statusLines as growLines } from "../../grow/grow-status.ts";
import { probeHealth } from "../../instances/health-probe.ts";
import { superviseStatus } from "../../supervise/supervise-status.ts";
import { SUPERVISOR_DIR, SupervisorState } from "../../supervise/supervisor-state.ts";

/** One instance's line: what answers on its port, its commit and branch. */
async function instanceLine(role: string, port: number): Promise<string> {
  const probe = await probeHealth(port);
  if (probe.kind === "org")
    return (
      `  ${role} :${port} ${probe.health.ok ? "ok" : "not ok"} (commit ` +
      `${probe.health.commit?.slice(0, 12) ?? "none"}${probe.health.branch ? ` on ${probe.health.branch}` : ""})`
    );
  return `  ${role} :${port} ${probe.kind === "other" ? "something else answers" : "not running"}`;
}

/** The supervisor's state in a few lines: whether it runs, its last round, the open incidents. */
function supervisorLines(workspaceDir: string, repoDir: string, config: OrgConfig): string[] {
  if (!existsSync(join(workspaceDir, SUPERVISOR_DIR, "state.db"))) return ["  never ran here (org supervise, or serve --supervise)"];
  const state = SupervisorState.open(workspaceDir);
  try {
    const status = superviseStatus({ workspaceDir, repoDir, config }, state, Date.now());
    return [
      status.supervisor ? `  runs (pid ${status.supervisor.pid}, since ${status.supervisor.since})` : "  not running now",
      status.lastRound ? `  last round ${status.lastRound.at}` : "  no round yet",
      status.incidents.length === 0 ? "  open incidents: none" : `  open incidents (${status.incidents.length}):`,
      ...status.incidents
        .slice(0, 10)
        .map((incident) => `    ${incident.id} ${incident.title}${incident.muted ? " (muted)" : ""}: ${incident.detail}`),
    ];
  } finally {
    state.close();
  }
}

/** What `/status` says from a phone: the instances, org grow and the supervisor, as plain text. */
export async function orgStatusText(setup: { workspaceDir: string; repoDir: string; config: OrgConfig }): Promise<string> {
  const { currentPort, candidatePort } = instanceSettings();
  const [current, candidate] = await Promise.all([instanceLine("current", currentPort), instanceLine("candidate", candidatePort)]);
  return [
    "instances:",
    current,
    candidate,
    "grow:",
    ...growLines(growStatus(setup.workspaceDir, setup.config.grow)).map((line) => `  ${line}`),
    "supervisor:",
    ...supervisorLines(setup.workspaceDir, setup.repoDir, setup.config),
  ].join("\n");
}
