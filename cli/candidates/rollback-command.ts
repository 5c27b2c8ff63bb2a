import { rollback } from "../../cycle/rollback.ts";
import { rollbackTarget } from "../../cycle/rollback-target.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { orgOf } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { healthTimeoutMs, REF_CHANGE_FLAGS, refChangeContext } from "./ref-change-context.ts";

const HELP =
  `Usage: org rollback [TARGET] [--reason TEXT] [--repo DIR] [--no-restart] [--health-timeout-s N] [--config FILE]

Reverts a promotion still in place on main (git revert -m 1 semantics, built without touching any worktree):
with no TARGET the newest; TARGET a promote/<UTC time> tag, that one; TARGET a tool name, the newest promotion
in place that added or changed that tool. An older promotion is reverted even when later ones exist, as long as
they did not change its tool folders (each folder goes back to what it was before that promotion). Then moves ` +
  `main and tags rollback/<UTC time> in one ref transaction, brings the checkout's files up to
main, restarts current with ops/start-current.sh and waits for /health at the new commit. The gate's baseline
(.org/fitness/baseline.json) follows main: what the undone promotion set is withdrawn, re-signed with this
rollback as the reason, so the next candidate is judged against main as it is now.
A promote or rollback killed at any point is finished first (journal in .org/); then nothing else is done.
When a share remote is set (org share remote) and you had offered a tool this rollback takes away, a signed recall
of your offer is pushed to refs/org/recalls/TOOL/ID: each teammate's 'org share pull' rolls back a copy it promoted
from that offer, and says --reason to them (docs/share.md). The web room's Roll back, grow's and the supervisor's
rollbacks recall the same way.

Options:
  --reason TEXT         why, for the teammates a recall reaches (default: "rolled back by its publisher (TAG)")
  --repo DIR            the checkout of main (default: the checkout this org runs from)
  --no-restart          move main and the checkout but do not restart current
  --health-timeout-s N  how long current may take to come back (default ORG_START_TIMEOUT_S, else 60)
  --config FILE         passed to ops/start-current.sh: the room configuration current runs with

A rolled-back candidate comes back with 'org candidate rebase BRANCH' (or by building the tool again).

Examples:
  org rollback
  org rollback promote/20261123T141053Z
  org rollback word_count --reason "miscounts tabs"

Exit status: 0 rolled back; 1 refused or current unhealthy (the reason is printed); 2 wrong command line.`;

const ROLLBACK_FLAGS = { ...REF_CHANGE_FLAGS, reason: { type: "string" } } as const;

export const rollbackCommand: Command = {
  ...nameAndSummary("rollback"),
  help: HELP,
  async run(args, signal) {
    const { values, positionals } = parseCommandArgs("rollback", args, ROLLBACK_FLAGS, { positionals: true });
    if (positionals.length > 1)
      throw new UsageError(`rollback takes one target (a promote/ tag or a tool name), got ${positionals.length}`, "rollback");
    const target = rollbackTarget(positionals[0]);
    if (target === undefined) {
      throw new UsageError(`${JSON.stringify(positionals[0])} is neither a promote/YYYYMMDDTHHMMSSZ tag nor a tool name`, "rollback");
    }
    const reason = values.reason?.trim();
    if (values.reason !== undefined && (!reason || reason.length > 1000))
      throw new UsageError("--reason takes a sentence of 1 to 1000 characters: why, for the teammates a recall reaches", "rollback");
    const timeoutMs = healthTimeoutMs(values["health-timeout-s"], "rollback");
    const { context, restart } = refChangeContext(values, timeoutMs, signal);
    const { log } = context;
    const { recovered, result } = await rollback(context, { restart, target, ...(reason ? { reason } : {}) });
    if (recovered) {
      log(
        `${recovered.op} ${recovered.tag} was interrupted; ${recovered.outcome}: ${recovered.detail}. Nothing ` +
          `else was done; run rollback again if needed.`,
      );
      return recovered.outcome === "finished" ? 0 : 1;
    }
    if (!result) return 1;
    log(`rolled back ${result.undoes} as ${result.newMain.slice(0, 12)} (tag ${result.tag}); main was ${result.mainBefore.slice(0, 12)}`);
    if (result.baseline) log(result.baseline);
    if (result.healthy === false) {
      log(
        `current is NOT healthy after the rollback: see ${orgOf(context.git.repoDir)} instance status, and ` +
          `start it again with ${orgOf(context.git.repoDir)} instance start current`,
      );
      return 1;
    }
    return 0;
  },
};
