import { checkPromotableName, promote, promoteLines, promoteSucceeded } from "../../cycle/promote.ts";
import { mostRecentlyPassedCandidate } from "../../cycle/promotion-check.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { judgeCommands, orgOf } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { healthTimeoutMs, REF_CHANGE_FLAGS, refChangeContext } from "./ref-change-context.ts";
import type { RepoGit } from "../../git/repo-git.ts";
import { OrgError } from "../../errors/org-error.ts";

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
    throw new OrgError(
      `no cand/* branch has a passing fitness report: judge one with ${judgeCommands(git.repoDir)} ` +
        `(${orgOf(git.repoDir)} candidate list shows them), or name a branch`,
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
    if (positionals[0] !== undefined) checkPromotableName(positionals[0]);
    const { context, restart } = refChangeContext(values, timeoutMs, signal);
    const { git, log } = context;
    const branch = positionals[0] ?? (await judgedCandidate(git, log, signal));
    const outcome = await promote(context, { branch, restart, rejudgeHint: (named) => judgeCommands(git.repoDir, named) });
    for (const line of promoteLines(outcome)) log(line);
    return promoteSucceeded(outcome) ? 0 : 1;
  },
};
