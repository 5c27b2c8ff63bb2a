import { join } from "node:path";
import { shellWord } from "../security/shell-word.ts";
import type { InstanceRole, StartReport } from "./side-by-side.ts";

/** What a start did, in one line that begins with the role: "candidate: started; healthy at …". */
export function describeStart(report: StartReport): string {
  const at = `${report.url} (commit ${report.commit.slice(0, 12)}${report.branch ? ` on ${report.branch}` : ""})`;
  switch (report.action) {
    case "already running":
      return `${report.role}: already running at ${at} in tmux window ${report.window}; nothing to do.`;
    case "hot reloaded":
      return `${report.role}: took the new commit without a restart (only generated tools changed): ${at}.`;
    case "restarted":
      return `${report.role}: restarted; healthy at ${at} in tmux window ${report.window}.`;
    default:
      return `${report.role}: started; healthy at ${at} in tmux window ${report.window}.`;
  }
}

/** How to look at a started instance and how to stop it, as one indented line. */
export function attachLine(tmuxSession: string, checkoutDir: string, role: InstanceRole): string {
  const session = tmuxSession === "org" ? "" : `ORG_TMUX_SESSION=${shellWord(tmuxSession)} `;
  return `  attach: tmux attach -t ${shellWord(tmuxSession)}    stop: ${session}${shellWord(join(checkoutDir, "ops", "stop.sh"))} ${role}`;
}
