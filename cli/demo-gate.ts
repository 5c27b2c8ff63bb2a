// The demo's own gate and promotion: the toolsmith's candidate in the demo's throw-away repository judged by the
// real fitness gate against two in-process `serve` instances (current on main, the candidate on its worktree), then
// merged into that repository's main by the real promote command. Nothing of org's checkout is read or written.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { builtInTools } from "../assembly/room-tools.ts";
import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { orgVersion } from "../config/version.ts";
import { AUDIT_DIR, ORG_DIR, WORKTREES_DIR } from "../config/workspace-paths.ts";
import { runFitness } from "../fitness/run-fitness.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { AuditLog } from "../security/audit-log.ts";
import { createServeHandler } from "../serve/serve-handler.ts";
import { ServedTools } from "../serve/served-tools.ts";
import { type RunningServe, startServe } from "../serve/start-serve.ts";
import { fitnessTable } from "./fitness-command.ts";
import { promoteCommand } from "./promote-command.ts";

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
 * Judges `branch` of `toolRepo` with the fitness gate and promotes it when it passes; each step's lines go to
 * `write`. True when the branch is on main afterwards.
 */
export async function judgeAndPromote(
  setup: { config: OrgConfig; toolRepo: RepoGit; branch: string; workspaceDir: string },
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<boolean> {
  const { config, toolRepo, branch, workspaceDir } = setup;
  const worktree = join(toolRepo.repoDir, WORKTREES_DIR, branch.replace("/", "-"));
  await toolRepo.run(["worktree", "add", "--quiet", "--detach", worktree, branch], { signal });
  const servers: { close(): Promise<void> }[] = [];
  try {
    const current = await serveCheckout(config, toolRepo.repoDir, join(workspaceDir, ORG_DIR, "demo-current"));
    servers.push(current);
    const candidate = await serveCheckout(config, worktree, join(workspaceDir, ORG_DIR, "demo-candidate"));
    servers.push(candidate);
    write(`the fitness gate: ${branch} served at ${candidate.server.url} beside main at ${current.server.url}\n`);
    const outcome = await runFitness({
      settings: config.toolsmith,
      git: toolRepo,
      candidatePort: candidate.server.port,
      currentPort: current.server.port,
      allowCore: false,
      bun: process.execPath,
      testsTimeoutMs: 120_000,
      scenarios: { dir: join(toolRepo.repoDir, "fitness", "scenarios"), runs: 1, marginRatio: 0.5, marginMs: 200, timeoutMs: 60_000 },
      signal,
    });
    if (outcome.report) write(`${fitnessTable(outcome.report.checks)}\n`);
    write(`verdict: ${outcome.report?.verdict ?? "could not judge"} — ${outcome.why}\n`);
    if (outcome.exitCode !== 0) return false;
  } finally {
    for (const server of servers.reverse()) await server.close();
    await toolRepo.run(["worktree", "remove", "--force", worktree]).catch(() => {});
  }
  // The promote command as a person types it; it prints what it did.
  const log = console.log;
  console.log = (...parts: unknown[]) => write(`${parts.map(String).join(" ")}\n`);
  try {
    return (await promoteCommand.run([branch, "--repo", toolRepo.repoDir, "--no-restart"], signal)) === 0;
  } finally {
    console.log = log;
  }
}
