import type { McpServerConfig } from "../config/mcp-servers.ts";
import type { ExecutedPath } from "../workspace/check-change-set.ts";

/**
 * `mcpExecutedPaths` of launch-files.ts, whose code (the servers' launch plans) loads only when the config names a
 * server: every room asks, and most name none.
 */
export function serversExecutedPaths(servers: readonly McpServerConfig[], workspaceDir: string): ExecutedPath[] {
  if (servers.length === 0) return [];
  const { mcpExecutedPaths }: typeof import("./launch-files.ts") = import.meta.require("./launch-files.ts");
  return mcpExecutedPaths(servers, workspaceDir);
}
