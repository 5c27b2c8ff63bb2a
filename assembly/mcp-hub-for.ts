import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import { orgVersion } from "../config/version.ts";
import { AUDIT_DIR } from "../config/workspace-paths.ts";
import type { McpHub } from "../mcp-client/mcp-hub.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { AuditLog } from "../security/audit-log.ts";

/**
 * The room's MCP servers for one entry point (chat, serve, demo), started in the background: undefined when the config
 * names none. Servers not yet confirmed stay off with a notice to `notify` (each entry point decides whether it can ask).
 * Every server's process group dies with org (its lifeline); the entry point closes the hub as org exits. The MCP
 * client's code loads only when the config names a server.
 */
export async function mcpHubFor(
  options: SandboxAccess & {
    config: OrgConfig;
    workspaceDir: string;
    notify: (line: string) => void;
  },
): Promise<McpHub | undefined> {
  if (options.config.mcpServers.length === 0) return undefined;
  const { McpHub } = await import("../mcp-client/mcp-hub.ts");
  const hub = new McpHub({
    servers: options.config.mcpServers,
    settings: options.config.mcp,
    workspaceDir: options.workspaceDir,
    sandbox: options.sandbox,
    sandboxPolicy: options.sandboxPolicy,
    version: orgVersion(),
    notify: options.notify,
    // A sandboxed server's connections through its egress guard are lines of the room's audit log.
    audit: new AuditLog(join(options.workspaceDir, AUDIT_DIR)),
  });
  hub.start();
  return hub;
}
