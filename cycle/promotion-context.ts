import { RepoGit } from "../git/repo-git.ts";
import { personShareAccess, type ShareAccess } from "../share/publish-offer.ts";
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
  /** Whose offers a rollback recalls: by default the person's own org folder and git (`org share`); `false`: none. */
  share?: ShareAccess | false;
};

/**
 * The context `promote` and `rollback` run with, made one way for every front end (the CLI, the web room, grow, the
 * supervisor, the demo): the repository, its promotion journal and lock, current, the log and the signal, and the
 * person's share setup, so that a rollback from any of them recalls a tool the person had offered to their team.
 */
export function promotionContext(setup: PromotionSetup): RefChangeContext {
  const git = typeof setup.repo === "string" ? new RepoGit(setup.repo) : setup.repo;
  const share = setup.share === false ? undefined : (setup.share ?? personShareAccess(git, setup.signal));
  return {
    git,
    journal: new PromotionJournal(git.repoDir),
    log: setup.log,
    ...(setup.current ? { current: setup.current } : {}),
    ...(setup.signal ? { signal: setup.signal } : {}),
    ...(setup.now ? { now: setup.now } : {}),
    ...(share ? { share } : {}),
  };
}
