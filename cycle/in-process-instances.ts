// Current and a candidate as two `serve`s inside this process, each on a free loopback port: what the demo's gate
// and `org grow` judge a candidate against. They run this process's code, the candidate's only with its tool files
// (read from a worktree, run through the sandboxed runner): nothing of a candidate runs on the host before it is
// judged (docs/ARCHITECTURE.md, invariant 15). No tmux, no fixed port: a person's own instances are left alone.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { builtInTools } from "../assembly/room-tools.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { orgVersion } from "../config/version.ts";
import { AUDIT_DIR } from "../config/workspace-paths.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { AuditLog } from "../security/audit-log.ts";
import { createServeHandler } from "../serve/serve-handler.ts";
import { ServedTools } from "../serve/served-tools.ts";
import { type RunningServe, startServe } from "../serve/start-serve.ts";
import { candidateWorktreeDir } from "../git/candidate-worktree.ts";
import type { CycleInstances } from "./promote-candidate.ts";

/** One in-process `serve` of `checkoutDir` on a free loopback port, its workspace `workspaceDir`, its tools run in `access`. */
async function serveCheckout(
  config: OrgConfig,
  access: SandboxAccess,
  checkoutDir: string,
  workspaceDir: string,
): Promise<{ server: RunningServe; close(): Promise<void> }> {
  mkdirSync(workspaceDir, { recursive: true, mode: 0o755 });
  const tools = await ServedTools.open(checkoutDir, builtInTools({ config, checkoutDir }), workspaceDir);
  const handler = createServeHandler({
    config,
    workspaceDir,
    tools,
    version: orgVersion(),
    jobs: { workers: 1 },
    profile: "dev",
    audit: new AuditLog(join(workspaceDir, AUDIT_DIR)),
    loopbackOnly: true,
    sandbox: access.sandbox,
    sandboxPolicy: access.sandboxPolicy,
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
 * loopback ports, for the cycle; each one's workspace is `instanceWorkspace(role)`; their tools run in this process's
 * sandbox under its policy. `close` stops both and removes the worktree.
 */
export function inProcessInstances(
  setup: SandboxAccess & {
    config: OrgConfig;
    toolRepo: RepoGit;
    instanceWorkspace: (role: "current" | "candidate") => string;
  },
): CycleInstances & {
  close(): Promise<void>;
} {
  const { config, toolRepo } = setup;
  const access = { sandbox: setup.sandbox, sandboxPolicy: setup.sandboxPolicy };
  const servers: { close(): Promise<void> }[] = [];
  const worktrees: string[] = [];
  return {
    async start(role, branch, _note, signal) {
      let checkout = toolRepo.repoDir;
      if (role === "candidate") {
        checkout = candidateWorktreeDir(toolRepo.repoDir, branch);
        await toolRepo.addWorktree(checkout, branch, { signal });
        worktrees.push(checkout);
      }
      const served = await serveCheckout(config, access, checkout, setup.instanceWorkspace(role));
      servers.push(served);
      return { role, port: served.server.port, url: served.server.url, said: `${role}: served at ${served.server.url}` };
    },
    async close() {
      for (const server of servers.splice(0).reverse()) await server.close();
      for (const worktree of worktrees.splice(0)) await toolRepo.removeWorktree(worktree).catch(() => {});
    },
  };
}
