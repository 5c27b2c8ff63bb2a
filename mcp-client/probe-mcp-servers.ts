import { McpHub, type McpHubOptions, type McpServerStatus } from "./mcp-hub.ts";

/**
 * Each server as it is now, for a command outside the room (`org mcp servers`, `org doctor`): the confirmed ones are
 * started, listed and stopped again (each bounded by `mcp.startTimeoutS`); the others are shown unstarted, waiting
 * for the user's confirmation.
 */
export async function probeMcpServers(options: Omit<McpHubOptions, "notify"> & { signal?: AbortSignal }): Promise<McpServerStatus[]> {
  if (options.servers.length === 0) return [];
  const { signal, ...hubOptions } = options;
  const hub = new McpHub(hubOptions);
  try {
    hub.start();
    await hub.ready(signal);
    // Stopped again right after: no process id to show.
    return hub.status({ retries: false }).map(({ pid: _pid, ...status }) => status);
  } finally {
    await hub.close();
  }
}
