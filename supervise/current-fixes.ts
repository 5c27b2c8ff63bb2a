import { z } from "zod";
import { waitForCommit } from "../fitness/instance-health.ts";
import { promotionContext } from "../cycle/promotion-context.ts";
import { lastPromotionInPlace } from "../git/last-promotion.ts";
import type { CurrentInstance } from "../cycle/ref-change.ts";
import { PROMOTE_TAG_PATTERN } from "../git/ref-names.ts";
import { RepoGit } from "../git/repo-git.ts";
import { rollback } from "../cycle/rollback.ts";
import { describeStart } from "../instances/describe-start.ts";
import { startFromEnvironment } from "../instances/start-from-environment.ts";
import { type Fix, scrub, type SuperviseContext } from "./supervise-check.ts";

/** Where restarts of current are counted in the state. */
export const CURRENT_ATTEMPTS = { kind: "restart-current", key: "current" } as const;
/** The `--config` current ran with, kept while it is healthy, for its restarts. */
export const CURRENT_CONFIG_KEY = "current:config";

const ServeArguments = z.object({ config: z.string().optional(), unsafeNoSandbox: z.boolean().optional() });

/** Starts current again as `org instance start current` does, with the `--config` it last ran with. */
async function startCurrent(context: SuperviseContext): Promise<string> {
  const kept = ServeArguments.safeParse(JSON.parse(context.state.get(CURRENT_CONFIG_KEY) ?? "{}"));
  const args = kept.success ? kept.data : {};
  const { report } = await startFromEnvironment({
    role: "current",
    checkoutDir: context.repoDir,
    ...(args.config !== undefined ? { config: args.config } : {}),
    ...(args.unsafeNoSandbox ? { unsafeNoSandbox: true } : {}),
    say: context.say,
    signal: context.signal,
  });
  return describeStart(report);
}

/** Current as the journaled rollback restarts it: started again in its window, then its /health waited for at the new commit. */
export function supervisedCurrent(context: SuperviseContext, log: (line: string) => void): CurrentInstance {
  return {
    async restart() {
      try {
        log(await startCurrent(context));
      } catch (error) {
        log(`current did not start: ${scrub(context, error instanceof Error ? error.message : String(error)).split("\n")[0]}`);
      }
    },
    waitHealthy: (commit, signal) =>
      waitForCommit(context.instance.port, commit, { timeoutMs: context.instance.startTimeoutMs, ...(signal ? { signal } : {}) }),
  };
}

/** `restart-current`: the current instance started again in its tmux window; each restart counts toward the backoff. */
export const restartCurrent: Fix = {
  target: '"current": start the current instance again in its tmux window',
  ownBackoff: true,
  refuse: async (target) => (target === "current" ? undefined : `restart-current takes the target "current", not ${JSON.stringify(target)}`),
  async apply(_target, context) {
    context.state.recordAttempt(CURRENT_ATTEMPTS.kind, CURRENT_ATTEMPTS.key, context.now(), "restart");
    try {
      return { ok: true, detail: await startCurrent(context) };
    } catch (error) {
      const said = scrub(context, error instanceof Error ? error.message : String(error));
      return { ok: false, detail: `current did not come back: ${said.split("\n").slice(0, 4).join(" / ")}` };
    }
  },
};

/** `rollback-promotion`: the promotion named is rolled back through the promotion journal, and current restarted at the revert. */
export const rollbackPromotion: Fix = {
  announce: true,
  target: "the promote/<UTC time> tag of the last promotion on main: roll it back through the journal",
  async refuse(target, context) {
    if (!PROMOTE_TAG_PATTERN.test(target)) return `rollback-promotion takes a promote/<UTC time> tag, not ${JSON.stringify(target.slice(0, 80))}`;
    const last = await lastPromotionInPlace(new RepoGit(context.repoDir), context.signal);
    return last?.tag === target ? undefined : `${target} is not the last promotion still on main${last ? ` (${last.tag} is)` : " (there is none)"}`;
  },
  async apply(target, context) {
    const lines: string[] = [];
    const log = (line: string) => {
      lines.push(line);
      context.say(`rollback: ${line}`);
    };
    try {
      const outcome = await rollback(
        promotionContext({ repo: context.repoDir, current: supervisedCurrent(context, log), log, signal: context.signal }),
        { restart: true, target: { promotionTag: target } },
      );
      if (outcome.recovered)
        return {
          ok: false,
          detail: `an interrupted ${outcome.recovered.op} was finished first (${outcome.recovered.detail}); ${target} was not rolled back yet`,
        };
      const result = outcome.result;
      const healthy = result?.healthy !== false;
      return {
        ok: healthy,
        detail:
          `rolled back ${target} by ${result?.tag ?? "?"} (main ` +
          `${result?.newMain.slice(0, 12) ?? "?"}); current is ${healthy ? "healthy" : "NOT healthy"}: ${lines.slice(-2).join(" / ")}`,
      };
    } catch (error) {
      return { ok: false, detail: `the rollback of ${target} failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  },
};
