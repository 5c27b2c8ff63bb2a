import { instanceSettings } from "../config/environment.ts";
import { attachLine, describeStart } from "../instances/describe-start.ts";
import { stopInstances } from "../instances/side-by-side.ts";
import { startFromEnvironment } from "../instances/start-from-environment.ts";
import type { CycleInstances } from "./promote-candidate.ts";

/**
 * Current and the candidate of `checkoutDir` as `org instance start` runs them: each `org serve` in its window of
 * the tmux session, on the ports of the environment. Each start's lines (the worktree, the dependencies, how it
 * started, how to attach) go to `note`; the candidate is stopped after a promotion as `org instance stop candidate`.
 */
export function tmuxInstances(checkoutDir: string): CycleInstances {
  return {
    async start(role, branch, note, signal) {
      const { report, tmuxSession, port } = await startFromEnvironment({
        role,
        checkoutDir,
        ...(role === "candidate" ? { branch } : {}),
        say: note,
        signal,
      });
      const said = describeStart(report);
      note(said);
      note(attachLine(tmuxSession, checkoutDir, role));
      return { role, port, url: report.url, said };
    },
    async stopCandidate() {
      try {
        await stopInstances(instanceSettings().tmuxSession, ["candidate"]);
        return undefined;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    },
  };
}
