import { environmentSettings, secretEnvironmentValues } from "../config/environment.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { Sandbox, type SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { type SandboxPolicy, sandboxPolicy } from "../sandbox/sandbox-policy.ts";

/**
 * The sandbox policy org runs under, from its environment (`ORG_SANDBOX`, `ORG_PROFILE`, the secret-looking
 * variables) and, when there is one, its config (the servers' keys and URL credentials are secrets too). Made
 * once where an entry point is assembled and handed down; throws EnvironmentError naming a variable org cannot use.
 * `changes` are the entry point's own (`org sandbox run` starts none ahead, and may share the network).
 */
export function sandboxPolicyFrom(
  options: {
    env?: NodeJS.ProcessEnv;
    config?: Pick<OrgConfig, "secrets"> & Partial<Pick<OrgConfig, "sandbox">>;
    changes?: Partial<Pick<SandboxPolicy, "network" | "poolSize">>;
  } = {},
): SandboxPolicy {
  const settings = environmentSettings(options.env);
  const secrets = [...secretEnvironmentValues(options.env), ...(options.config?.secrets ?? [])];
  return sandboxPolicy({
    ...options.changes,
    enabled: !settings.sandboxDisabled,
    ...(options.config?.sandbox ? { workspace: options.config.sandbox.workspace, secretPaths: options.config.sandbox.secretPaths } : {}),
    ...(options.config?.sandbox?.egress ? { egress: options.config.sandbox.egress } : {}),
    secretValues: [...new Set(secrets)],
  });
}

/**
 * What an entry point's parts run model-made code with, made once where it is assembled: the process's one Sandbox
 * and the policy from `sandboxPolicyFrom`. Everything of that entry point (its rooms, toolsmith, gate, MCP servers)
 * is handed these two, so runs share one probe, one bound on runs at once and one pool.
 */
export function sandboxAccessFrom(options: Parameters<typeof sandboxPolicyFrom>[0] = {}): SandboxAccess {
  return { sandbox: new Sandbox(), sandboxPolicy: sandboxPolicyFrom(options) };
}
