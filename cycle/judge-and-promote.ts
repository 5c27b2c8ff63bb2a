// The demo's own gate and promotion: the toolsmith's candidate in the demo's throw-away repository judged by the
// real fitness gate against two in-process `serve` instances (current on main, the candidate on its worktree), then
// merged into that repository's main as the promote command merges, by the cycle `tool new --promote` runs. Nothing of
// org's checkout is read or written.
import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { inProcessGateOptions } from "./in-process-gate.ts";
import { inProcessInstances } from "./in-process-instances.ts";
import { type CycleInstance, type CycleProgress, promoteCandidate } from "./promote-candidate.ts";
import { fitnessTable, verdictLine } from "../fitness/fitness-lines.ts";
import { promoteLines } from "./promote.ts";
import { promotionContext } from "./promotion-context.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";

/**
 * Judges `branch` of `toolRepo` with the fitness gate and promotes it when it passes (the cycle of
 * `cycle/promote-candidate.ts` with two in-process servers); each step's lines go to `write`. True when the
 * branch is on main afterwards.
 */
export async function judgeAndPromote(
  setup: SandboxAccess & {
    config: OrgConfig;
    toolRepo: RepoGit;
    branch: string;
    workspaceDir: string;
    /** The commands that judge a branch again, for a refusal that asks for it. */
    rejudgeHint: (branch: string) => string;
  },
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<boolean> {
  const { config, toolRepo, branch, workspaceDir, sandbox, sandboxPolicy, rejudgeHint } = setup;
  const instances = inProcessInstances({
    config,
    toolRepo,
    instanceWorkspace: (role) => join(workspaceDir, ORG_DIR, `demo-${role}`),
    sandbox,
    sandboxPolicy,
  });
  let current: CycleInstance | undefined;
  const show = (progress: CycleProgress) => {
    if (progress.type === "instance-started" && progress.instance.role === "current") current = progress.instance;
    else if (progress.type === "instance-started")
      write(`the fitness gate: ${branch} served at ${progress.instance.url} beside main at ${current?.url ?? "?"}\n`);
    else if (progress.type === "judged") {
      if (progress.outcome.report) write(`${fitnessTable(progress.outcome.report.checks)}\n`);
      write(`${verdictLine(progress.outcome)}\n`);
    } else if (progress.type === "note") write(`${progress.line}\n`);
    else if (progress.type === "promoted") for (const line of promoteLines(progress.outcome)) write(`${line}\n`);
    // The gate's verdict is said above; another stage that fails says why here.
    else if (progress.type === "stage-done" && !progress.result.ok && progress.result.stage !== "fitness") write(`${progress.result.detail}\n`);
  };
  try {
    const outcome = await promoteCandidate({
      branch,
      instances,
      gate: () => inProcessGateOptions({ config, git: toolRepo, sandbox, sandboxPolicy }),
      promotion: {
        context: (log) => promotionContext({ repo: toolRepo, log }),
        restart: false,
        rejudgeHint,
      },
      onProgress: show,
      signal,
    });
    return outcome.ok;
  } finally {
    await instances.close();
  }
}
