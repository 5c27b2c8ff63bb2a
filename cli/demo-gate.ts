// The demo's own gate and promotion: the toolsmith's candidate in the demo's throw-away repository judged by the
// real fitness gate against two in-process `serve` instances (current on main, the candidate on its worktree), then
// merged into that repository's main as the promote command merges, by the cycle `tool new --promote` runs. Nothing of org's checkout is read or written.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { builtInTools } from "../assembly/room-tools.ts";
import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { orgVersion } from "../config/version.ts";
import { AUDIT_DIR, ORG_DIR, WORKTREES_DIR } from "../config/workspace-paths.ts";
import { type CycleInstance, type CycleInstances, type CycleProgress, promoteCandidate } from "../cycle/promote-candidate.ts";
import { fitnessTable, verdictLine } from "../fitness/fitness-lines.ts";
import { promoteLines } from "../fitness/promote-judged.ts";
import { PromotionJournal } from "../git/journal.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { AuditLog } from "../security/audit-log.ts";
import { createServeHandler } from "../serve/serve-handler.ts";
import { ServedTools } from "../serve/served-tools.ts";
import { type RunningServe, startServe } from "../serve/start-serve.ts";
import { judgeCommands } from "./org-invocation.ts";

/** One in-process `serve` of `checkoutDir` on a free loopback port, its workspace `workspaceDir`. */
async function serveCheckout(config: OrgConfig, checkoutDir: string, workspaceDir: string): Promise<{ server: RunningServe; close(): Promise<void> }> {
  mkdirSync(workspaceDir, { recursive: true, mode: 0o755 });
  const tools = await ServedTools.open(checkoutDir, builtInTools({ config }), workspaceDir);
  const handler = createServeHandler({
    config,
    workspaceDir,
    tools,
    version: orgVersion(),
    jobs: { workers: 1 },
    profile: "dev",
    audit: new AuditLog(join(workspaceDir, AUDIT_DIR)),
    loopbackOnly: true,
    sandboxPolicy: sandboxPolicyFrom({ config }),
  });
  const server = startServe({ handler, host: "127.0.0.1", port: 0 });
  return {
    server,
    async close() {
      await server.stop(true);
      await handler.close();
    },
  };
}

/**
 * Current (`toolRepo`'s checkout) and the candidate (`branch` in a worktree of it) as in-process `serve`s on free
 * loopback ports, for the cycle; `close` stops both and removes the worktree.
 */
export function inProcessInstances(setup: { config: OrgConfig; toolRepo: RepoGit; workspaceDir: string }): CycleInstances & {
  close(): Promise<void>;
} {
  const { config, toolRepo, workspaceDir } = setup;
  const servers: { close(): Promise<void> }[] = [];
  const worktrees: string[] = [];
  return {
    async start(role, branch, _note, signal) {
      let checkout = toolRepo.repoDir;
      if (role === "candidate") {
        checkout = join(toolRepo.repoDir, WORKTREES_DIR, branch.replace("/", "-"));
        await toolRepo.run(["worktree", "add", "--quiet", "--detach", checkout, branch], { signal });
        worktrees.push(checkout);
      }
      const served = await serveCheckout(config, checkout, join(workspaceDir, ORG_DIR, `demo-${role}`));
      servers.push(served);
      return { role, port: served.server.port, url: served.server.url, said: `${role}: served at ${served.server.url}` };
    },
    async close() {
      for (const server of servers.splice(0).reverse()) await server.close();
      for (const worktree of worktrees.splice(0)) await toolRepo.run(["worktree", "remove", "--force", worktree]).catch(() => {});
    },
  };
}

/**
 * Judges `branch` of `toolRepo` with the fitness gate and promotes it when it passes (the cycle of
 * `cycle/promote-candidate.ts` with two in-process servers); each step's lines go to `write`. True when the
 * branch is on main afterwards.
 */
export async function judgeAndPromote(
  setup: { config: OrgConfig; toolRepo: RepoGit; branch: string; workspaceDir: string },
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<boolean> {
  const { config, toolRepo, branch, workspaceDir } = setup;
  const instances = inProcessInstances({ config, toolRepo, workspaceDir });
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
      gate: () => ({
        settings: config.toolsmith,
        git: toolRepo,
        allowCore: false,
        bun: process.execPath,
        testsTimeoutMs: 120_000,
        scenarios: { dir: join(toolRepo.repoDir, "fitness", "scenarios"), runs: 1, marginRatio: 0.5, marginMs: 200, timeoutMs: 60_000 },
      }),
      promotion: {
        context: (log) => ({ git: toolRepo, journal: new PromotionJournal(toolRepo.repoDir), log }),
        restart: false,
        rejudgeHint: (named) => judgeCommands(toolRepo.repoDir, named),
      },
      onProgress: show,
      signal,
    });
    return outcome.ok;
  } finally {
    await instances.close();
  }
}
