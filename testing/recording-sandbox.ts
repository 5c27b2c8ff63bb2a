import { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { SandboxOptions } from "../sandbox/sandbox-options.ts";
import type { SandboxResult } from "../sandbox/sandbox-result.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";

/** A real Sandbox that also keeps the policy each run was handed, so a test can see what a part ran under. */
export class RecordingSandbox extends Sandbox {
  readonly policies: SandboxPolicy[] = [];

  override run(options: SandboxOptions): Promise<SandboxResult> {
    this.policies.push(options.policy);
    return super.run(options);
  }
}
