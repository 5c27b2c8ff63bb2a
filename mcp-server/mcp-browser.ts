import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { AnyTool, AskPerson, JsonValue, PersonQuestion } from "../tools/define-tool.ts";
import { redact } from "../security/redact.ts";
import { MAX_NOTICES } from "../tools/browser-snapshot.ts";
import { runTool, toolSet } from "../tools/define-tool.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { roomSecrets } from "../workspace/secret-values.ts";
import { readScreenshot } from "../room/session-files.ts";
import type { McpBuiltInCall, McpBuiltInTool } from "./mcp-capability.ts";

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
  /** How long a question to the client's user about a host may wait (the room's `serve.approvalTimeoutS`). */
  askTimeoutS: number;
};

const ALLOW_IT = "add it there to let pages load from it";
/** The refused hosts an answer names one line each (as many as the browser's own notices), and those it counts. */
const SHOWN_REFUSED = MAX_NOTICES;
const MAX_REFUSED = 1_000;

/** What the client's user is asked beside the question: yes once (accept), for the session too (`always`), or no. */
const ALWAYS_SCHEMA = {
  type: "object" as const,
  properties: {
    always: { type: "boolean" as const, title: "Allow it for the rest of this session", default: false },
  },
};

/**
 * The answer to a host on neither list: the client's user's, when the client takes form elicitation (put on the
 * call's own stream, bounded by `timeoutS`); else nobody's, and refused.
 */
async function askClient(
  question: PersonQuestion,
  call: McpBuiltInCall,
  timeoutS: number,
  secrets: readonly string[],
): Promise<{ allowed: true; always: boolean } | { allowed: false; asked: boolean; why: string }> {
  if (!call.elicit) return { allowed: false, asked: false, why: "over MCP nobody is asked about a host (the client takes no elicitation)" };
  const signal = question.signal ? AbortSignal.any([call.signal, question.signal]) : call.signal;
  try {
    const answer = await call.elicit(
      { message: `${redact(question.preview, secrets)}. Allow it?`, requestedSchema: ALWAYS_SCHEMA },
      { signal, timeoutMs: timeoutS * 1000 },
    );
    if (answer.action === "accept") return { allowed: true, always: answer.content?.always === true };
    return { allowed: false, asked: true, why: `the client's user answered ${answer.action}` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { allowed: false, asked: false, why: `the client's question got no answer (${message.slice(0, 200)})` };
  }
}

/**
 * The room's `browser` tool (its schema, description and results, through `runTool`: redacted, audited) as an MCP
 * tool of one MCP session, whose browser starts at its first call and `close` ends. A host `sandbox.egress` does not
 * list is put to the client's user with `elicitation/create` when the client takes it; else nobody is asked (the
 * client's user approved the call, not the page's hosts) and it is refused. Either refusal ends the answer with a line
 * naming the setting that allows the host. A screenshot comes back as image content too.
 */
export function mcpBrowser(browser: AnyTool, options: McpBrowserOptions): McpBuiltInTool {
  const tools = toolSet([browser]);
  // What the client's user allowed "for the rest of this session" (a host and port each), as the room keeps its "always".
  const allowed = new Set<string>();
  // The workspace's secret files are read at the first call, as a room reads them when it opens: never for a listing.
  let secrets: ReturnType<typeof roomSecrets> | undefined;
  const secretsNow = () => {
    secrets ??= roomSecrets(options.secrets, options.workspaceDir, options.sandboxPolicy.secretPaths, options.workspaceCopies);
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
    async call(args, call) {
      const { redacted, outbound } = secretsNow();
      const refused = new Map<string, string>();
      const askPerson: AskPerson = async (question) => {
        if (allowed.has(question.always.key)) return true;
        const answer = await askClient(question, call, options.askTimeoutS, redacted);
        if (answer.allowed) {
          if (answer.always) allowed.add(question.always.key);
          return true;
        }
        if (refused.size < MAX_REFUSED) refused.set(String(question.call.arguments.connect ?? question.preview).slice(0, 300), answer.why);
        return answer.asked ? false : { denied: answer.why };
      };
      const result = await runTool(
        tools,
        { name: browser.name, arguments: args },
        {
          signal: call.signal,
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
      // After runTool's redaction: a host is a page's choice, and a client's error its own words.
      const notes = [...refused]
        .slice(0, SHOWN_REFUSED)
        .map(([host, why]) =>
          redact(`! refused ${host}: it is not on sandbox.egress.allow of the workspace's org.config.json, and ${why}; ${ALLOW_IT}`, redacted),
        );
      if (refused.size > SHOWN_REFUSED) notes.push(`! and ${refused.size - SHOWN_REFUSED} more hosts were refused the same way`);
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
