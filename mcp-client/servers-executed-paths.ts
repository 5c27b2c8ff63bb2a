import type { McpServerConfig } from "../config/mcp-servers.ts";
import type { ExecutedPath } from "../workspace/check-change-set.ts";

/**
 * `mcpExecutedPaths` of launch-files.ts, whose code (the servers' launch plans) loads only when the config names a
 * server: every room asks, and most name none.
 */
export function serversExecutedPaths(servers: readonly McpServerConfig[], workspaceDir: string): ExecutedPath[] {
  if (servers.length === 0) return [];
  // biome-ignore lint/style/noCommonJs: a load on first use that works from source and from org's one-file bundle
  const { mcpExecutedPaths }: typeof import("./launch-files.ts") = require("./launch-files.ts");
  return mcpExecutedPaths(servers, workspaceDir);
}
