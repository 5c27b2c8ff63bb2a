import { environmentSettings, secretEnvironmentValues } from "../config/environment.ts";
import type { SandboxSettings } from "../sandbox/run-sandboxed.ts";

/** The sandbox's settings from this process's environment: `ORG_SANDBOX=off` and the secret values. */
export function sandboxSettings(): Required<SandboxSettings> {
  return { sandboxDisabled: environmentSettings().sandboxDisabled, secretValues: secretEnvironmentValues() };
}
