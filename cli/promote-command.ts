import { checkedPassingVerdict, mostRecentlyPassedCandidate } from "../fitness/promotion-check.ts";
import { CandidateRefusedError, checkCandidateBranch } from "../git/candidate-branch.ts";
import { candidateStates } from "../git/candidate-states.ts";
import { BASELINE_FILE, raiseBaseline } from "../git/fitness-baseline.ts";
import { promote } from "../git/promote.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { type Command, isUserFacing, UsageError, UserFacingError } from "./command.ts";
import { nameAndSummary } from "./command-summaries.ts";
import { judgeCommands, orgOf } from "./org-invocation.ts";
import { parseCommandArgs } from "./parse-command-args.ts";
import { healthTimeoutMs, REF_CHANGE_FLAGS, refChangeContext } from "./ref-change-context.ts";

const HELP = `Usage: org promote [BRANCH] [--repo DIR] [--no-restart] [--health-timeout-s N] [--config FILE]

Merges candidate BRANCH (default: the cand/* branch most recently judged pass; it says which) into main,
only when its head is the exact commit of a passing fitness report that this checkout's gate wrote and
signed (.org/fitness/<commit>/<UTC time>.json, HMAC under .org/fitness/gate.key; a report written by hand or
by another checkout promotes nothing), the protected-core check passes again on that exact commit, and main
has not moved since that report. The merge has main and the candidate as parents (--no-ff) and the fitness summary in its
message; main and the tag promote/<UTC time> move in one ref transaction. Then the checkout's files are
brought up to main, current is restarted with ops/start-current.sh and must answer /health at the new
commit (ORG_CURRENT_PORT, default 7001); when it does not, the promotion rolls itself back.
A run killed at any point is finished by the next run of promote or rollback (journal in .org/).

Options:
  --repo DIR            the checkout of main (default: the checkout this org runs from)
  --no-restart          move main and the checkout but do not restart current
  --health-timeout-s N  how long current may take to come back (default ORG_START_TIMEOUT_S, else 60)
  --config FILE         passed to ops/start-current.sh: the room configuration current runs with

Exit status: 0 promoted; 1 refused, rolled back or unhealthy (the reason is printed); 2 wrong command line.`;

async function judgedCandidate(git: RepoGit, log: (line: string) => void, signal: AbortSignal): Promise<string> {
  const chosen = await mostRecentlyPassedCandidate(git, signal);
  if (!chosen)
    throw new UserFacingError(
      `no cand/* branch has a passing fitness report: judge one with ${judgeCommands(git.repoDir)} (${orgOf(git.repoDir)} candidate list shows them), or name a branch`,
    );
  log(`chose ${chosen.branch} (${chosen.commit.slice(0, 12)}): the candidate most recently judged pass (${chosen.judgedAt})`);
  return chosen.branch;
}

export const promoteCommand: Command = {
  ...nameAndSummary("promote"),
  help: HELP,
  async run(args, signal) {
    const { values, positionals } = parseCommandArgs("promote", args, REF_CHANGE_FLAGS, { positionals: true });
    if (positionals.length > 1) throw new UsageError(`promote takes one branch, got ${positionals.length}`, "promote");
    const timeoutMs = healthTimeoutMs(values["health-timeout-s"], "promote");
    const named = positionals[0];
    if (named !== undefined) {
      try {
        checkCandidateBranch(named);
      } catch (error) {
        if (error instanceof CandidateRefusedError) throw new UserFacingError(`refused: ${error.message}`);
        throw error;
      }
    }
    const { context, restart } = refChangeContext(values, timeoutMs, signal);
    const { git, log } = context;
    const branch = named ?? (await judgedCandidate(git, log, signal));
    let outcome: Awaited<ReturnType<typeof promote>>;
    let passes: Record<string, number> | undefined;
    try {
      outcome = await promote(context, {
        branch,
        restart,
        verdict: async (commit) => {
          const verdict = await checkedPassingVerdict(git, commit, signal);
          passes = verdict.scenarioPasses;
          return verdict;
        },
      });
    } catch (error) {
      // Every refusal names the branch, not only a commit.
      if (isUserFacing(error)) {
        const rejudge = "rejudge" in error && error.rejudge === true ? `; judge it with ${judgeCommands(git.repoDir, branch)}` : "";
        throw new UserFacingError(`refused to promote ${branch}: ${error.message}${rejudge}`);
      }
      throw error;
    }
    const { recovered, result, alreadyOnMain } = outcome;
    if (recovered) {
      log(`${recovered.op} ${recovered.tag} was interrupted; ${recovered.outcome}: ${recovered.detail}. Nothing else was done; run promote again if needed.`);
      return recovered.outcome === "finished" ? 0 : 1;
    }
    if (alreadyOnMain) {
      const row = (await candidateStates(git, signal)).find((entry) => entry.branch === branch);
      if (row?.state === "rolled-back") {
        throw new UserFacingError(
          `refused to promote ${branch}: it was promoted and rolled back${row.promotion ? ` (${row.promotion})` : ""}, so merging it again changes nothing; 'org candidate rebase ${branch}' makes a new candidate from today's main with its tool files, to judge and promote`,
        );
      }
      log(`${branch} (${alreadyOnMain.slice(0, 12)}) is already on main; nothing to do`);
      return 0;
    }
    if (!result) return 1;
    if (result.rolledBack) {
      log(
        `promotion ${result.tag} ROLLED BACK by ${result.rolledBack.tag}: current was not healthy (${result.rolledBack.reason}); main is back at ${result.rolledBack.newMain.slice(0, 12)}`,
      );
      return 1;
    }
    log(`promoted ${branch} as ${result.merge.slice(0, 12)} (tag ${result.tag}); main was ${result.mainBefore.slice(0, 12)}`);
    if (passes) {
      const baseline = raiseBaseline(git.repoDir, passes, result.merge);
      log(`baseline: ${Object.keys(baseline.scenarios).length} scenario count(s) in ${BASELINE_FILE}, none lowered`);
    }
    return 0;
  },
};
