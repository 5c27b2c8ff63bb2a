import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { GateOptions } from "./promote-candidate.ts";

/**
 * The gate as it judges a candidate of `git` against two in-process serves (`inProcessInstances`): the toolsmith's
 * settings, the checkout's scenarios run once each with a half-again margin. The demo's gate and the web room's
 * Run gate use it.
 */
export function inProcessGateOptions(setup: SandboxAccess & { config: OrgConfig; git: RepoGit }): GateOptions {
  return {
    settings: setup.config.toolsmith,
    git: setup.git,
    allowCore: false,
    bun: process.execPath,
    testsTimeoutMs: 120_000,
    scenarios: { dir: join(setup.git.repoDir, "fitness", "scenarios"), runs: 1, marginRatio: 0.5, marginMs: 200, timeoutMs: 60_000 },
    sandbox: setup.sandbox,
    sandboxPolicy: setup.sandboxPolicy,
  };
}
