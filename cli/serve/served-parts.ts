import { toolsmithPhaseRoutes } from "../../personas/model-router.ts";
import { join } from "node:path";
import { mcpHubFor } from "../../assembly/mcp-hub-for.ts";
import { builtInTools } from "../../assembly/room-tools.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { AUDIT_DIR, CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { openMemoryForRoom } from "../../memory/open-memory.ts";
import { embedderFromEnvironment } from "../../registry/ollama-embedder.ts";
import type { SandboxAccess } from "../../sandbox/run-sandboxed.ts";
import { AuditLog } from "../../security/audit-log.ts";
import { ServedTools } from "../../serve/served-tools.ts";
import type { FileOutlet } from "../../tools/send-file.ts";
import { toolsmithJob } from "../../toolsmith/toolsmith-job.ts";
import { orgInvocation } from "../command/org-invocation.ts";

/**
 * What every room `org serve` (and `org web`, `org telegram`) opens is made of: the workspace's memory, the room's MCP
 * servers, the built-in and promoted tools, the audit log and the toolsmith's job, as the session pool takes them.
 * Should a part fail to start, those already started are closed before the error goes on; `close` closes them all.
 */
export async function servedParts(
  workspaceDir: string,
  config: OrgConfig,
  access: SandboxAccess,
  log: (line: string) => void,
  /** send_file's way to the person, where a chat follows the sessions (`org telegram`). */
  extra: { fileOutlet?: FileOutlet } = {},
) {
  const { sandbox, sandboxPolicy } = access;
  const memory = openMemoryForRoom(workspaceDir, log, config.secrets);
  const embedder = embedderFromEnvironment();
  // Nobody can confirm a server that is new or changed without a terminal: such a server stays off, with a line in the log.
  const mcp = await mcpHubFor({ config, workspaceDir, sandbox, sandboxPolicy, notify: log });
  try {
    if (mcp) {
      mcp.subscribe((change) => change.type === "notice" && log(change.message));
      // However org ends, its servers' groups are killed as it exits (their lifeline would end them a moment later).
      process.once("exit", () => mcp.closeNow());
    }
    // The room assembly's built-ins; ServedTools adds the promoted tools of the workspace and the checkout.
    const tools = await ServedTools.open(
      CHECKOUT_DIR,
      builtInTools({ config, ...(memory ? { memory } : {}), ...(embedder ? { embedder } : {}), ...(mcp ? { mcp } : {}), ...extra }),
      workspaceDir,
    );
    return {
      tools,
      mcp,
      memory,
      /** What the session pool's rooms are opened with (serve's handler options of the same names). */
      rooms: {
        config,
        workspaceDir,
        tools,
        audit: new AuditLog(join(workspaceDir, AUDIT_DIR)),
        toolsmithJob: toolsmithJob({
          repoDir: CHECKOUT_DIR,
          records: async () => (await import("../../fitness/toolsmith-records.ts")).toolsmithRecords,
          settings: config.toolsmith,
          routePhase: toolsmithPhaseRoutes(config),
          invocation: orgInvocation(),
          sandbox,
          sandboxPolicy,
        }),
        sandbox,
        sandboxPolicy,
        ...(embedder ? { embedder } : {}),
        ...(memory ? { memory } : {}),
        ...(mcp ? { toolFeed: mcp } : {}),
      },
    };
  } catch (error) {
    await mcp?.close();
    memory?.close();
    throw error;
  }
}
