import type { McpServerConfig, McpSettings } from "../config/mcp-servers.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { McpHub, type McpServerStatus } from "./mcp-hub.ts";

/**
 * Each server as it is now, for a command outside the room (`org mcp servers`, `org doctor`): the confirmed ones are
 * started, listed and stopped again (each bounded by `mcp.startTimeoutS`); the others are shown unstarted, waiting
 * for the user's confirmation.
 */
export async function probeMcpServers(options: {
  servers: readonly McpServerConfig[];
  settings: McpSettings;
  workspaceDir: string;
  sandboxPolicy: SandboxPolicy;
  version: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}): Promise<McpServerStatus[]> {
  if (options.servers.length === 0) return [];
  const { signal, ...hubOptions } = options;
  const hub = new McpHub(hubOptions);
  try {
    hub.start();
    await hub.ready(signal);
    return hub.status({ retries: false });
  } finally {
    await hub.close();
  }
}
