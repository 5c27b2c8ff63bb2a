import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { BOOM_CODE, boomSpec, SHOUT_CODE, shoutSpec } from "../testing/mcp-fixtures.ts";
import { type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { type RunningServe, startServe } from "./start-serve.ts";

const TOKEN = "mcp-secret-token-1";

function connect(url: string, token: string | undefined, changes: number[] = []): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
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
      new Request("http://127.0.0.1:7001/mcp", { method: "POST", headers: { ...headers, origin: "https://evil.example" }, body: JSON.stringify(init) }),
    );
    expect(page.status).toBe(403);
    const local = await open.handler.fetch(new Request("http://127.0.0.1:7001/mcp", { method: "POST", headers, body: JSON.stringify(init) }));
    expect(local.status).toBe(200);
    expect(local.headers.get("mcp-session-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
