import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { OrgConfig } from "../config/org-config.ts";
import type { McpBuiltInTool, McpOfferedTool } from "../mcp-server/mcp-capability.ts";
import type { McpToolEntry } from "../mcp-server/mcp-tool-catalog.ts";
import type { McpToolSet } from "../mcp-server/mcp-tool-set.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { HttpError } from "./http-error.ts";
import { httpToolRefusal } from "./http-tool-policy.ts";
import type { ServedTools } from "./served-tools.ts";

export type McpHttpOptions = SandboxAccess & {
  config: OrgConfig;
  workspaceDir: string;
  tools: ServedTools;
  /** The sessions' private copies of the workspace, as serve's rooms and tool runs have them (the browser's context). */
  workspaceCopies: WorkspaceCopies;
  /** Where the browser's calls, navigations and connections are audited, as the room's are. */
  audit?: AuditSink;
  version: string;
  logError: (line: string) => void;
  /** MCP sessions kept at once; past it the one used least recently is closed. */
  maxSessions?: number;
};

export type McpHttp = {
  /** Answers one request to /mcp (POST, GET or DELETE), after serve's Origin check (`refuseForeignOrigin`) and auth. */
  handle(request: Request): Promise<Response>;
  close(): Promise<void>;
};

type Session = { transport: WebStandardStreamableHTTPServerTransport; dispose(): Promise<void>; usedAt: number };

const SESSION_ID = /^[0-9a-f-]{36}$/;

/** The promoted tools serve offers now (hash-checked at its last reload, read again when it reloads) and the workspace's workflows. */
async function servedToolSet(options: McpHttpOptions): Promise<McpToolSet> {
  const [{ promotedEntries, uniqueEntries, workflowEntries }, { McpToolSet }] = await Promise.all([
    import("../mcp-server/mcp-tool-catalog.ts"),
    import("../mcp-server/mcp-tool-set.ts"),
  ]);
  let generated: { generation: number; entries: McpToolEntry[] } | undefined;
  const access = { sandbox: options.sandbox, sandboxPolicy: options.sandboxPolicy };
  return new McpToolSet(async () => {
    if (generated?.generation !== options.tools.generation) {
      const offered = new Set(options.tools.generated().map((tool) => tool.name));
      generated = {
        generation: options.tools.generation,
        entries: promotedEntries(options.tools.checkoutDir, access).filter((entry) => offered.has(entry.name)),
      };
    }
    return uniqueEntries([...generated.entries, ...workflowEntries(options.workspaceDir, [options.tools.checkoutDir], access)]);
  });
}

/**
 * The served tool set, made and read when the first MCP session opens: the MCP server's code (its catalog of tools
 * and workflows) loads then, not at every start of serve. It is read again each time serve's tools reload (a
 * promotion or rollback in the workspace's event stream, or `POST /v1/admin/reload`) and when a workflow file of the
 * workspace's or the checkout's `workflows/` changes (a watch of the folders). `stop` ends that.
 */
function watchedToolSet(options: McpHttpOptions): { get(): Promise<McpToolSet>; stop(): Promise<void> } {
  let toolSet: Promise<McpToolSet> | undefined;
  let unhear: (() => void) | undefined;
  return {
    async get() {
      toolSet ??= servedToolSet(options);
      const tools = await toolSet;
      if (!unhear) {
        const failed = (error: unknown) => options.logError(`mcp: reading the tools failed: ${error instanceof Error ? error.stack : String(error)}`);
        unhear = options.tools.onReload(() => {
          tools.refresh().catch(failed);
        });
        tools.watchWorkflows([options.workspaceDir, options.tools.checkoutDir], failed);
        await tools.refresh();
      }
      return tools;
    },
    async stop() {
      unhear?.();
      if (toolSet) (await toolSet).stop();
    },
  };
}

/**
 * The browser of one MCP session: serve's own `browser` tool (the rooms'), its browser kept in the session's scratch
 * (`mcp-<session id>`), started at the first call and closed when the session ends. None when serve offers no browser.
 */
async function sessionBrowser(options: McpHttpOptions, sessionId: string): Promise<McpBuiltInTool[]> {
  const browser = options.tools.builtIns.find((tool) => tool.name === "browser");
  if (!browser) return [];
  const { mcpBrowser } = await import("../mcp-server/mcp-browser.ts");
  return [
    mcpBrowser(browser, {
      sandbox: options.sandbox,
      sandboxPolicy: options.sandboxPolicy,
      workspaceCopies: options.workspaceCopies,
      workspaceDir: options.workspaceDir,
      sessionId: `mcp-${sessionId}`,
      secrets: options.config.secrets,
      askTimeoutS: options.config.serve.approvalTimeoutS,
      ...(options.audit ? { audit: options.audit } : {}),
    }),
  ];
}

/** Closes the sessions used least recently until one more fits; each leaves the map at once, its browser closes after. */
function makeRoom(sessions: Map<string, Session>, maxSessions: number, logError: (line: string) => void): void {
  while (sessions.size >= maxSessions) {
    const oldest = [...sessions.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt)[0];
    if (!oldest) return;
    closeSession(sessions, oldest[0]).catch((error) =>
      logError(`mcp: closing a session failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}

/** Ends a session: out of the map first (no await before), then its browser and its transport. */
async function closeSession(sessions: Map<string, Session>, id: string): Promise<void> {
  const session = sessions.get(id);
  sessions.delete(id);
  if (!session) return;
  await session.dispose();
  await session.transport.close().catch(() => {});
}

/**
 * serve's `/mcp`: the same tools as `org mcp` (the browser, the promoted tools serve offers and the workspace's
 * workflows) over MCP's Streamable HTTP transport, one SDK server per MCP session, each told when the list
 * changes, each session with a browser of its own. The HTTP tool policy decides what runs (a tool, workflow or the
 * browser at "deny" is refused as a tool error); "ask" runs, since MCP clients ask their user before each call. An
 * Origin not of this server is 403.
 */
export function createMcpHttp(options: McpHttpOptions): McpHttp {
  const sessions = new Map<string, Session>();
  const maxSessions = options.maxSessions ?? 64;
  const toolSet = watchedToolSet(options);

  // The policy POST /v1/tools/:name/run applies; "ask" is the MCP client's to put to its user.
  const refuse = (tool: McpOfferedTool) => httpToolRefusal(options.config.serve, tool.name, tool.kind, "client");

  async function open(): Promise<Session> {
    const tools = await toolSet.get();
    const { createMcpToolServer } = await import("../mcp-server/mcp-tool-server.ts");
    // Made here, not by the transport: the session's browser keeps its files under it.
    const sessionId = crypto.randomUUID();
    const { server, dispose } = await createMcpToolServer({
      tools,
      version: options.version,
      logError: options.logError,
      refuse,
      personas: options.config.personas,
      builtIns: await sessionBrowser(options, sessionId),
    });
    const { WebStandardStreamableHTTPServerTransport } = await import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js");
    const usedAt = Date.now();
    // The callbacks run once a client initializes or ends the session, after `session` below exists.
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      onsessioninitialized: (id) => {
        // Made room for here, where the session joins the map (no await between): initializes that came together
        // cannot all pass the bound, as they could when each looked while the others were still opening.
        makeRoom(sessions, maxSessions, options.logError);
        sessions.set(id, session);
      },
      // A DELETE from the client: its browser closes before the answer.
      onsessionclosed: async (id) => {
        sessions.delete(id);
        await dispose();
      },
      maxRequestBodySize: options.config.serve.maxBodyBytes,
    });
    const session: Session = { transport, dispose, usedAt };
    await server.connect(transport);
    return session;
  }

  return {
    async handle(request) {
      const id = request.headers.get("mcp-session-id");
      if (id === null) {
        if (request.method !== "POST")
          throw new HttpError(400, "an MCP session starts with a POST of initialize to /mcp; GET and DELETE need the Mcp-Session-Id header it gave.");
        // The transport refuses anything but initialize without a session id.
        const session = await open();
        const response = await session.transport.handleRequest(request);
        if (session.transport.sessionId === undefined) {
          await session.dispose();
          await session.transport.close().catch(() => {});
        }
        return response;
      }
      const session = SESSION_ID.test(id) ? sessions.get(id) : undefined;
      if (!session) throw new HttpError(404, "no such MCP session (it ended, or this server restarted); start a new one with initialize.");
      session.usedAt = Date.now();
      return session.transport.handleRequest(request);
    },
    async close() {
      await toolSet.stop();
      await Promise.all([...sessions.keys()].map((id) => closeSession(sessions, id)));
    },
  };
}
