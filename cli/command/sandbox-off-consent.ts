import { environmentSettings } from "../../config/environment.ts";
import { UsageError } from "./command.ts";

/**
 * Turning the sandbox off for a server is the user's act, twice over: ORG_SANDBOX=off in the environment
 * they start it in and `--unsafe-no-sandbox` on its command line. Either alone is refused, naming both.
 */
export function checkSandboxOffConsent(command: string, confirmed: boolean, env?: NodeJS.ProcessEnv): void {
  const off = environmentSettings(env).sandboxDisabled;
  if (off && !confirmed) {
    throw new UsageError(
      `ORG_SANDBOX=off is set, which would run every model-made command UNSANDBOXED on this host for anyone ` +
        `who reaches the server. Unset ORG_SANDBOX, or give --unsafe-no-sandbox as well if you mean it.`,
      command,
    );
  }
  if (confirmed && !off) {
    throw new UsageError(
      "--unsafe-no-sandbox only confirms ORG_SANDBOX=off and does nothing alone; leave it out, or set ORG_SANDBOX=off too if you mean it.",
      command,
    );
  }
}
