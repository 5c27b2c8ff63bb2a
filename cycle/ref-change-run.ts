import { PromotionJournal } from "../git/journal.ts";
import { followBaseline } from "../fitness/baseline-follow.ts";
import type { RefChangeContext } from "../git/ref-change.ts";
import { RepoGit } from "../git/repo-git.ts";
import { currentInstance } from "./current-instance.ts";

/**
 * What a promote or rollback of the repository at `repoDir` runs with: the repository, its journal, current
 * (restarted on `port` unless `restart` is false, its script given `scriptArgs`), the log and the signal.
 */
export function refChangeRun(
  repoDir: string,
  options: { restart: boolean; port: number; healthTimeoutMs: number; scriptArgs: string[]; log: (line: string) => void; signal: AbortSignal },
): RefChangeContext {
  const { restart, port, healthTimeoutMs, scriptArgs, log, signal } = options;
  const git = new RepoGit(repoDir);
  const current = restart ? currentInstance(git.repoDir, port, healthTimeoutMs, log, scriptArgs) : undefined;
  return { git, journal: new PromotionJournal(git.repoDir), followBaseline, current, log, signal };
}
