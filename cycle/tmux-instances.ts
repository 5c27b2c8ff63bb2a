import { existsSync } from "node:fs";
import { instanceSettings } from "../config/environment.ts";
import { candidateWorktreeDir } from "../git/candidate-worktree.ts";
import { RepoGit } from "../git/repo-git.ts";
import { attachLine, describeStart } from "../instances/describe-start.ts";
import { stopInstances } from "../instances/side-by-side.ts";
import { startFromEnvironment } from "../instances/start-from-environment.ts";
import { TmuxWindow } from "../instances/tmux-window.ts";
import type { CycleEnd, CycleInstances } from "./promote-candidate.ts";

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Current and the candidate of `checkoutDir` as `org instance start` runs them: each `org serve` in its window of
 * the tmux session, on the ports of the environment. Each start's lines (the worktree, the dependencies, how it
 * started, how to attach) go to `note`. When the cycle is over the candidate is stopped as `org instance stop
 * candidate` stops it and the worktree this cycle made for it removed (a candidate left to inspect keeps both).
 */
export function tmuxInstances(checkoutDir: string): CycleInstances {
  /** The candidate this cycle started (its window), and the worktree it made for it, if it made one. */
  let candidate: { started: boolean; madeWorktree?: string } = { started: false };
  return {
    async start(role, branch, note, signal) {
      const worktree = role === "candidate" ? candidateWorktreeDir(new RepoGit(checkoutDir).repoDir, branch) : undefined;
      const existed = worktree !== undefined && existsSync(worktree);
      try {
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
      } finally {
        if (worktree !== undefined) candidate = { started: true, ...(!existed && existsSync(worktree) ? { madeWorktree: worktree } : {}) };
      }
    },
    finish: (end) => finishCandidate(checkoutDir, candidate, end),
  };
}

/** What `finish` does with the candidate a cycle started: see `CycleInstances.finish`. */
async function finishCandidate(
  checkoutDir: string,
  candidate: { started: boolean; madeWorktree?: string },
  end: CycleEnd,
): Promise<string | undefined> {
  if (!candidate.started) return undefined;
  const session = instanceSettings().tmuxSession;
  const running = (await new TmuxWindow(session, "candidate").state().catch(() => ({ state: "absent" as const }))).state === "running";
  // A stage failed and the candidate runs: it is left to inspect, in its worktree.
  if (end === "failed" && running) return undefined;
  const problems: string[] = [];
  try {
    await stopInstances(session, ["candidate"]);
  } catch (error) {
    problems.push(`the candidate instance did not stop (${messageOf(error)}); stop it with: org instance stop candidate`);
  }
  if (candidate.madeWorktree !== undefined) {
    const git = new RepoGit(checkoutDir);
    try {
      await git.removeWorktree(candidate.madeWorktree);
      await git.pruneWorktrees();
    } catch (error) {
      problems.push(`the candidate's worktree ${candidate.madeWorktree} was not removed (${messageOf(error)}); org candidate prune removes it`);
    }
  }
  return problems.length === 0 ? undefined : problems.join("; ");
}
