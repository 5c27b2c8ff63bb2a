import { environmentSettings, instanceSettings, windowEnvironment } from "../config/environment.ts";
import { type InstanceRole, type StartReport, startInstance } from "./side-by-side.ts";

/**
 * Starts current or a candidate in its tmux window with the ports, session, time limit, window environment and
 * API token of this process's environment (ORG_CURRENT_PORT, ORG_CANDIDATE_PORT, ORG_TMUX_SESSION, …), as
 * `org instance start` does. Throws the start's own error, which says why (port taken, the server exited).
 */
export async function startFromEnvironment(options: {
  role: InstanceRole;
  checkoutDir: string;
  branch?: string;
  config?: string;
  unsafeNoSandbox?: boolean;
  say?: (line: string) => void;
  signal?: AbortSignal;
}): Promise<{ report: StartReport; tmuxSession: string; port: number }> {
  const settings = instanceSettings();
  const port = options.role === "current" ? settings.currentPort : settings.candidatePort;
  const { apiToken } = environmentSettings();
  const report = await startInstance({
    ...options,
    unsafeNoSandbox: options.unsafeNoSandbox ?? false,
    settings: {
      port,
      tmuxSession: settings.tmuxSession,
      startTimeoutMs: settings.startTimeoutS * 1000,
    },
    env: windowEnvironment(),
    ...(apiToken !== undefined ? { apiToken } : {}),
  });
  return { report, tmuxSession: settings.tmuxSession, port };
}
