import { RepoGit } from "../git/repo-git.ts";
import { PromotionJournal } from "./promotion-journal.ts";
import type { CurrentInstance, RefChangeContext } from "./ref-change.ts";

/** What a front end has when it promotes or rolls back: the repository (or its folder), current when it is restarted, where the lines go. */
export type PromotionSetup = {
  repo: RepoGit | string;
  /** Absent: current is not restarted (`--no-restart`, the web room's own server, no current to restart). */
  current?: CurrentInstance;
  log: (line: string) => void;
  signal?: AbortSignal;
  now?: () => Date;
};

/**
 * The context `promote` and `rollback` run with, made one way for every front end (the CLI, the web room, grow, the
 * supervisor, the demo): the repository, its promotion journal and lock, current, the log and the signal.
 */
export function promotionContext(setup: PromotionSetup): RefChangeContext {
  const git = typeof setup.repo === "string" ? new RepoGit(setup.repo) : setup.repo;
  return {
    git,
    journal: new PromotionJournal(git.repoDir),
    log: setup.log,
    ...(setup.current ? { current: setup.current } : {}),
    ...(setup.signal ? { signal: setup.signal } : {}),
    ...(setup.now ? { now: setup.now } : {}),
  };
}
