import { Sandbox, type SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { SandboxOptions } from "../sandbox/sandbox-options.ts";
import type { SandboxResult } from "../sandbox/sandbox-result.ts";
import { DEFAULT_SANDBOX_POLICY, type SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { WorkspaceCopies } from "../workspace/workspace-copies.ts";

/** The sandbox a test process runs model-made code in, made once as an entry point of org makes its own. */
export const testSandbox = new Sandbox();

/**
 * `testSandbox` under `policy` (the default policy, sandboxed, no network, the default bounds, unless a test gives one),
 * and a fresh set of session copies of the workspace: what a tool's context and a room are given where org is assembled.
 */
export function testSandboxAccess(policy: SandboxPolicy = DEFAULT_SANDBOX_POLICY): SandboxAccess & { workspaceCopies: WorkspaceCopies } {
  return { sandbox: testSandbox, sandboxPolicy: policy, workspaceCopies: new WorkspaceCopies() };
}

/** A run in `testSandbox`, under the default policy unless the options give one. */
export function runInTestSandbox(options: Omit<SandboxOptions, "policy"> & { policy?: SandboxPolicy }): Promise<SandboxResult> {
  return testSandbox.run({ ...options, policy: options.policy ?? DEFAULT_SANDBOX_POLICY });
}
