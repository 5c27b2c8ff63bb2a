import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { NamedSecret } from "../security/named-secret.ts";
import type { AnyTool, AskPerson, JsonValue } from "../tools/define-tool.ts";
import { runTool, toolSet } from "../tools/define-tool.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { workspaceSecretEntries } from "../workspace/secret-values.ts";
import { readScreenshot } from "../room/session-files.ts";
import type { McpBuiltInTool } from "./mcp-capability.ts";

/** Who an MCP session's browser runs as in audit lines and the per-minute bound (every MCP session of a process alike). */
const MCP_PERSONA = "mcp";

export type McpBrowserOptions = SandboxAccess & {
  workspaceCopies: WorkspaceCopies;
  /** The workspace whose `sandbox.egress` the pages go out under, and whose scratch holds the session's files. */
  workspaceDir: string;
  /** The MCP session's own: its scratch folder (screenshots, downloads), its browser, its audit lines. */
  sessionId: string;
  audit?: AuditSink;
  /** The room's secrets (its server keys): redacted from every answer, never typed into a page. */
  secrets: readonly string[];
};

/**
 * The room's `browser` tool (its schema, description and results, through `runTool`: redacted, audited) as an MCP
 * tool of one MCP session, whose browser starts at its first call and `close` ends. Nobody is asked about a host
 * `sandbox.egress` does not list (the MCP client's user approved the call, not the page's hosts): it is refused,
 * and the answer names the setting that allows it. A screenshot comes back as image content too.
 */
export function mcpBrowser(browser: AnyTool, options: McpBrowserOptions): McpBuiltInTool {
  const tools = toolSet([browser]);
  // The workspace's secret files are read at the first call, as a room reads them when it opens: never for a listing.
  let secrets: { redacted: string[]; outbound: (string | NamedSecret)[] } | undefined;
  const secretsNow = () => {
    if (!secrets) {
      const entries = workspaceSecretEntries(options.workspaceDir, options.sandboxPolicy.secretPaths, options.workspaceCopies);
      secrets = {
        redacted: [...new Set([...options.secrets, ...entries.map(({ value }) => value)])],
        outbound: [...options.secrets, ...entries],
      };
    }
    return secrets;
  };
  return {
    name: browser.name,
    kind: "built-in",
    description: browser.description,
    inputSchema: browser.definition.function.parameters,
    annotations: {
      title: browser.name,
      // A click may submit a form (an order, a deletion) on a site the user is signed in to; its pages are the world's.
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: true,
    },
    async call(args, signal) {
      const refusedHosts: string[] = [];
      const askPerson: AskPerson = async (question) => {
        refusedHosts.push(String(question.call.arguments.connect ?? question.preview).slice(0, 300));
        return { denied: "nobody is asked over MCP" };
      };
      const { redacted, outbound } = secretsNow();
      const result = await runTool(
        tools,
        { name: browser.name, arguments: args },
        {
          signal,
          workspaceDir: options.workspaceDir,
          sessionId: options.sessionId,
          persona: MCP_PERSONA,
          secrets: redacted,
          outboundSecrets: outbound,
          askPerson,
          ...(options.audit ? { audit: options.audit } : {}),
          sandbox: options.sandbox,
          sandboxPolicy: options.sandboxPolicy,
          workspaceCopies: options.workspaceCopies,
        },
      );
      const notes = [...new Set(refusedHosts)].map(
        (host) =>
          `! refused ${host}: it is not on sandbox.egress.allow of the workspace's org.config.json, and over MCP nobody is ` +
          "asked about a host; add it there to let pages load from it",
      );
      const text = [result.output, ...notes].join("\n");
      const image = screenshotOf(result.data, options);
      return {
        content: [{ type: "text", text }, ...(image ? [image] : [])],
        ...(result.ok ? {} : { isError: true }),
      };
    },
    async close() {
      await browser.release?.(options);
    },
  };
}

/** The screenshot a call saved, as MCP image content, read back as the room reads it (no link followed, a PNG's header). */
function screenshotOf(data: JsonValue | undefined, options: McpBrowserOptions): CallToolResult["content"][number] | undefined {
  const path = typeof data === "object" && data !== null && !Array.isArray(data) ? data.screenshot : undefined;
  if (typeof path !== "string") return undefined;
  const png = readScreenshot(options.workspaceDir, options.sessionId, path);
  if (!(png instanceof Uint8Array)) return { type: "text", text: `! the screenshot could not be read back: ${png.refused}` };
  return { type: "image", data: Buffer.from(png).toString("base64"), mimeType: "image/png" };
}
