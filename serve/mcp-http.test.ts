import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  type Progress,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { BOOM_CODE, boomSpec, LINES_WORKFLOW, SHOUT_CODE, shoutSpec } from "../testing/mcp-fixtures.ts";
import { type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { type RunningServe, startServe } from "./start-serve.ts";

const TOKEN = "mcp-secret-token-1";

function connect(url: string, token: string | undefined, changes: number[] = [], headers: Record<string, string> = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } },
  });
  const client = new Client({ name: "org-http-test", version: "1.0.0" });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changes.push(Date.now());
  });
  return client.connect(transport).then(() => client);
}

// The MCP SDK's own Streamable HTTP client against a real `serve` socket, behind the bearer token.
describe("serve's /mcp with the MCP SDK's Streamable HTTP client", () => {
  const checkout = tempGitRepo("org-mcp-http-");
  let fixture: ServeFixture;
  let server: RunningServe;

  beforeAll(async () => {
    writeGeneratedTool(checkout.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    writeGeneratedTool(checkout.dir, boomSpec(), BOOM_CODE);
    gitSync(checkout.dir, ["add", "-A"]);
    gitSync(checkout.dir, ["commit", "--quiet", "-m", "two tools"]);
    fixture = await serveFixture({
      script: { rules: [{ reply: { text: "hi" } }] },
      checkoutDir: checkout.dir,
      apiToken: TOKEN,
      serve: { tools: { boom: "deny" } },
    });
    server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    await server?.stop(true);
    await fixture?.[Symbol.asyncDispose]();
    checkout[Symbol.dispose]();
  });

  test("without the token the client cannot connect (401, OpenAI-shaped error too)", async () => {
    await expect(connect(server.url, undefined)).rejects.toThrow(/401|Bearer/);
    const response = await fetch(`${server.url}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
  });

  test("lists and calls the promoted tools; a denied tool and bad input are tool errors", async () => {
    const client = await connect(server.url, TOKEN);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(["boom", "word_count"]);
      expect(tools.find((tool) => tool.name === "word_count")?.outputSchema).toEqual(wordCountSpec().output_schema as never);
      const result = await client.callTool({ name: "word_count", arguments: { text: "a b c d" } });
      expect(result.structuredContent).toEqual({ words: 4 });
      const bad = await client.callTool({ name: "word_count", arguments: {} });
      expect(bad.isError).toBe(true);
      const denied = await client.callTool({ name: "boom", arguments: { text: "x" } });
      expect(denied.isError).toBe(true);
      expect((denied.content as { text: string }[])[0]?.text).toContain('serve.tools.boom is "deny"');
    } finally {
      await client.close();
    }
  }, 60_000);

  test("after a promotion the list changes and the client is told", async () => {
    const changes: number[] = [];
    const client = await connect(server.url, TOKEN, changes);
    try {
      // The GET stream that carries server notifications is open once the client has listed once.
      await client.listTools();
      writeGeneratedTool(checkout.dir, shoutSpec(), SHOUT_CODE);
      gitSync(checkout.dir, ["add", "-A"]);
      gitSync(checkout.dir, ["commit", "--quiet", "-m", "promote shout"]);
      const reload = await fetch(`${server.url}/v1/admin/reload`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(((await reload.json()) as { added: string[] }).added).toEqual(["shout"]);
      await waitUntil("tools/list_changed over the GET stream", () => changes.length >= 1, 30_000);
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain("shout");
      expect((await client.callTool({ name: "shout", arguments: { text: "hey" } })).structuredContent).toEqual({ result: "HEY" });
    } finally {
      await client.close();
    }
  }, 60_000);

  test("a workflow saved by hand in the workspace is offered without a reload, and the client is told", async () => {
    const changes: number[] = [];
    const client = await connect(server.url, TOKEN, changes);
    try {
      await client.listTools();
      mkdirSync(join(fixture.workspaceDir, "workflows"), { recursive: true });
      writeFileSync(join(fixture.workspaceDir, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
      await waitUntil("tools/list_changed after the workflow was saved", () => changes.length >= 1, 30_000);
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("count-all");
    } finally {
      rmSync(join(fixture.workspaceDir, "workflows"), { recursive: true, force: true });
      await client.close();
    }
  }, 60_000);

  test("resources, persona prompts, and a call's progress and log lines on its own POST stream", async () => {
    const client = await connect(server.url, TOKEN);
    const logs: { level: string; data: unknown }[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push({ level: notification.params.level, data: notification.params.data });
    });
    try {
      expect((await client.readResource({ uri: "org://tools/word_count/source" })).contents[0]).toMatchObject({ text: WORD_COUNT_CODE });
      expect((await client.listPrompts()).prompts.map((prompt) => prompt.name)).toEqual(["agent", "python", "toolsmith"]);
      await client.setLoggingLevel("debug");
      const progress: Progress[] = [];
      const result = await client.callTool({ name: "word_count", arguments: { text: "a b" } }, CallToolResultSchema, {
        onprogress: (step) => progress.push(step),
      });
      expect(result.structuredContent).toEqual({ words: 2 });
      expect(progress[0]).toMatchObject({ progress: 1, message: "word_count: started (in the sandbox)" });
      expect(logs).toContainEqual({ level: "debug", data: "word_count: called" });
    } finally {
      await client.close();
    }
  }, 60_000);

  test("a request from a foreign Host or Origin is refused before MCP sees it", async () => {
    await using open = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir, loopbackOnly: true });
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } },
    };
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const foreign = await open.handler.fetch(
      new Request("http://evil.example:7001/mcp", { method: "POST", headers: { ...headers, host: "evil.example:7001" }, body: JSON.stringify(init) }),
    );
    expect(foreign.status).toBe(403);
    const page = await open.handler.fetch(
      new Request("http://127.0.0.1:7001/mcp", {
        method: "POST",
        headers: { ...headers, origin: "https://evil.example" },
        body: JSON.stringify(init),
      }),
    );
    expect(page.status).toBe(403);
    const local = await open.handler.fetch(new Request("http://127.0.0.1:7001/mcp", { method: "POST", headers, body: JSON.stringify(init) }));
    expect(local.status).toBe(200);
    expect(local.headers.get("mcp-session-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

/** A raw MCP session over fetch: initialize, then `call(method, params)` returns the JSON-RPC answer (JSON or one SSE frame). */
async function rawSession(url: string, headers: Record<string, string>) {
  const base = { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers };
  const init = await fetch(`${url}/mcp`, { method: "POST", headers: base, body: JSON.stringify(INIT) });
  expect(init.status).toBe(200);
  await init.text();
  const session = { ...base, "mcp-session-id": init.headers.get("mcp-session-id") ?? "", "mcp-protocol-version": "2025-06-18" };
  await (
    await fetch(`${url}/mcp`, { method: "POST", headers: session, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })
  ).text();
  let id = 1;
  return async (method: string, params: unknown) => {
    id += 1;
    const response = await fetch(`${url}/mcp`, { method: "POST", headers: session, body: JSON.stringify({ jsonrpc: "2.0", id, method, params }) });
    expect(response.status).toBe(200);
    const text = await response.text();
    const data = text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "");
    return JSON.parse(data) as {
      result?: { isError?: boolean; content?: { text: string }[]; tools?: unknown[] };
      error?: { code: number; message: string };
    };
  };
}

describe("/mcp as the MCP spec says, and under the HTTP tool policy", () => {
  const checkout = tempGitRepo("org-mcp-spec-");
  let fixture: ServeFixture;
  let server: RunningServe;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    writeGeneratedTool(checkout.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    gitSync(checkout.dir, ["add", "-A"]);
    gitSync(checkout.dir, ["commit", "--quiet", "-m", "one tool"]);
    fixture = await serveFixture({
      script: { rules: [{ reply: { text: "hi" } }] },
      checkoutDir: checkout.dir,
      apiToken: TOKEN,
      serve: { generatedTools: "deny" },
    });
    server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    await server?.stop(true);
    await fixture?.[Symbol.asyncDispose]();
    checkout[Symbol.dispose]();
  });

  test("serve.generatedTools deny: /v1/tools lists the tool as denied and refuses its run; /mcp lists it and refuses its call alike", async () => {
    const listing = (await (await fetch(`${server.url}/v1/tools`, { headers: auth })).json()) as { tools: { name: string; http: string }[] };
    expect(listing.tools.find((tool) => tool.name === "word_count")?.http).toBe("deny");
    const run = await fetch(`${server.url}/v1/tools/word_count/run`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ inputs: { text: "a b" } }),
    });
    expect(run.status).toBe(403);
    const refusal = ((await run.json()) as { error: { message: string } }).error.message;
    expect(refusal).toContain('serve.generatedTools is "deny"');
    const client = await connect(server.url, TOKEN);
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(["word_count"]);
      const denied = await client.callTool({ name: "word_count", arguments: { text: "a b" } });
      expect(denied.isError).toBe(true);
      expect((denied.content as { text: string }[])[0]?.text).toBe(refusal);
      expect(denied.structuredContent).toBeUndefined();
    } finally {
      await client.close();
    }
  }, 60_000);

  test("an unknown tool and a cursor the server never gave are JSON-RPC errors -32602 (SDK client and raw requests)", async () => {
    const client = await connect(server.url, TOKEN);
    try {
      const unknown = await client.callTool({ name: "no_such_tool", arguments: {} }).catch((error: unknown) => error);
      expect(unknown).toBeInstanceOf(McpError);
      expect((unknown as McpError).code).toBe(ErrorCode.InvalidParams);
      expect((unknown as McpError).message).toContain('unknown tool "no_such_tool"');
      const cursor = await client.listTools({ cursor: "bogus" }).catch((error: unknown) => error);
      expect(cursor).toBeInstanceOf(McpError);
      expect((cursor as McpError).code).toBe(ErrorCode.InvalidParams);
    } finally {
      await client.close();
    }
    const call = await rawSession(server.url, auth);
    const unknown = await call("tools/call", { name: "no_such_tool", arguments: {} });
    expect(unknown.result).toBeUndefined();
    expect(unknown.error?.code).toBe(-32602);
    const cursor = await call("tools/list", { cursor: "bogus" });
    expect(cursor.result).toBeUndefined();
    expect(cursor.error?.code).toBe(-32602);
    const whole = await call("tools/list", {});
    expect(whole.result?.tools).toHaveLength(1);
  }, 60_000);

  test("with a token set, a foreign Origin is 403 (with the token or without); no Origin and the server's own origin pass", async () => {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    for (const origin of ["https://evil.example", "http://127.0.0.1:1", "null", "http://evil.example"]) {
      for (const token of [auth, {}]) {
        const response = await fetch(`${server.url}/mcp`, { method: "POST", headers: { ...headers, ...token, origin }, body: JSON.stringify(INIT) });
        expect(`${origin} ${response.status}`).toBe(`${origin} 403`);
      }
    }
    await expect(connect(server.url, TOKEN, [], { origin: "https://evil.example" })).rejects.toThrow(/403/);
    const port = new URL(server.url).port;
    for (const origin of [server.url, `http://localhost:${port}`]) {
      const response = await fetch(`${server.url}/mcp`, { method: "POST", headers: { ...headers, ...auth, origin }, body: JSON.stringify(INIT) });
      expect(`${origin} ${response.status}`).toBe(`${origin} 200`);
      await response.text();
    }
    const client = await connect(server.url, TOKEN);
    expect((await client.listTools()).tools).toHaveLength(1);
    await client.close();
  }, 60_000);
});
