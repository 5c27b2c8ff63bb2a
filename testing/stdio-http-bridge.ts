import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

// For tests: one stdio MCP server (a spawned process) offered over Streamable HTTP, for clients that speak only
// HTTP (the conformance suite). Every HTTP session shares the one process: request ids and progress tokens are
// renumbered on the way in and put back on the way out; other notifications go to every session. The bridge
// adds nothing of its own to what the server answers.

type Session = { transport: WebStandardStreamableHTTPServerTransport };
type Pending = { session: Session; id: string | number; token?: string | number };

export type StdioHttpBridge = { url: string; stderr: string[]; close(): Promise<void> };

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : undefined;
}

export async function stdioHttpBridge(command: string, args: string[], env: Record<string, string>): Promise<StdioHttpBridge> {
  const child = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const sessions = new Set<Session>();
  const pending = new Map<number, Pending>();
  const tokens = new Map<string, Pending>();
  let next = 1;

  child.onmessage = (message) => {
    const fields = record(message) ?? {};
    if ("id" in fields && ("result" in fields || "error" in fields)) {
      const waiting = pending.get(Number(fields.id));
      pending.delete(Number(fields.id));
      if (waiting?.token !== undefined) tokens.delete(`t${Number(fields.id)}`);
      if (waiting) void waiting.session.transport.send({ ...message, id: waiting.id } as JSONRPCMessage).catch(() => {});
      return;
    }
    const params = record(fields.params);
    const token = params?.progressToken;
    const owner = typeof token === "string" ? tokens.get(token) : undefined;
    if (fields.method === "notifications/progress" && owner?.token !== undefined) {
      const restored = { ...message, params: { ...params, progressToken: owner.token } } as JSONRPCMessage;
      void owner.session.transport.send(restored, { relatedRequestId: owner.id }).catch(() => {});
      return;
    }
    for (const session of sessions) void session.transport.send(message).catch(() => {});
  };
  await child.start();

  const byId = new Map<string, Session>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const id = request.headers.get("mcp-session-id");
      const known = id ? byId.get(id) : undefined;
      if (known) return known.transport.handleRequest(request);
      if (id) return new Response("no such session", { status: 404 });
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        onsessioninitialized: (sessionId) => {
          byId.set(sessionId, session);
        },
      });
      const session: Session = { transport };
      sessions.add(session);
      transport.onclose = () => sessions.delete(session);
      transport.onmessage = (message) => {
        const fields = record(message) ?? {};
        if (!("id" in fields) || !("method" in fields)) {
          void child.send(message).catch(() => {});
          return;
        }
        const own = next++;
        const params = record(fields.params);
        const meta = record(params?._meta);
        const token = meta?.progressToken;
        const entry: Pending = {
          session,
          id: fields.id as string | number,
          ...(typeof token === "string" || typeof token === "number" ? { token } : {}),
        };
        pending.set(own, entry);
        let forwarded = { ...message, id: own } as JSONRPCMessage;
        if (entry.token !== undefined) {
          tokens.set(`t${own}`, entry);
          forwarded = { ...forwarded, params: { ...params, _meta: { ...meta, progressToken: `t${own}` } } } as JSONRPCMessage;
        }
        void child.send(forwarded).catch(() => {});
      };
      await transport.start();
      return transport.handleRequest(request);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/mcp`,
    stderr,
    async close() {
      await server.stop(true);
      await Promise.all([...sessions].map((session) => session.transport.close().catch(() => {})));
      await child.close();
    },
  };
}
