import { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { SandboxOptions } from "../sandbox/sandbox-options.ts";
import type { SandboxResult } from "../sandbox/sandbox-result.ts";

/**
 * A real Sandbox whose runs given egress get the guard's two test seams (as `sandbox/egress-run.test.ts` passes them):
 * a name ending in `.test` resolves to 127.0.0.1, taken as public, so a server the test runs on the host's loopback is
 * "public" for the guard alone; any other name does not resolve. The sandbox itself still has no route to it.
 */
export class PublicTestSandbox extends Sandbox {
  override run(options: SandboxOptions): Promise<SandboxResult> {
    if (options.egress === undefined) return super.run(options);
    const resolver = async (host: string) => (host.endsWith(".test") ? ["127.0.0.1"] : Promise.reject(new Error("no such name")));
    return super.run({ ...options, egress: { ...options.egress, resolver, treatAsPublic: new Set(["127.0.0.1"]) } });
  }
}
