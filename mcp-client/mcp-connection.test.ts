// One connection against a hostile stdio server written here: it speaks just enough JSON-RPC to start, then misbehaves.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MCP, type McpServerConfig } from "../config/mcp-servers.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { type ConnectionChange, McpConnection } from "./mcp-connection.ts";
import { McpHub } from "./mcp-hub.ts";
import { recordTrust } from "./mcp-trust.ts";

const dir = mkdtempSync(join(tmpdir(), "org-mcp-connection-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Answers initialize and tools/list (counting the lists); the tool "storm" sends 2 000 list_changed notifications at
// once, "lists" says how many tools/list requests came so far, and "secret" answers with its API_TOKEN.
const HOSTILE_SERVER = `
let lists = 0;
const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\\n");
let buffer = "";
process.stdin.on("data", (chunk) => {
  buffer += chunk;
  let newline;
  while ((newline = buffer.indexOf("\\n")) >= 0) {
    const line = buffer.slice(0, newline);
    buffer = buffer.slice(newline + 1);
    const request = JSON.parse(line);
    if (request.method === "initialize")
      send({ id: request.id, result: { protocolVersion: request.params.protocolVersion, capabilities: { tools: { listChanged: true } }, serverInfo: { name: "storm", version: "1" } } });
    else if (request.method === "tools/list") {
      lists += 1;
      send({ id: request.id, result: { tools: ["storm", "lists", "secret"].map((name) => ({ name, inputSchema: { type: "object" } })) } });
    } else if (request.method === "tools/call" && request.params.name === "storm") {
      for (let index = 0; index < 2000; index += 1) send({ method: "notifications/tools/list_changed" });
      send({ id: request.id, result: { content: [{ type: "text", text: "sent" }] } });
    } else if (request.method === "tools/call" && request.params.name === "secret") {
      const token = process.env.API_TOKEN;
      send({ id: request.id, result: { content: [{ type: "text", text: "token " + token }], structuredContent: { token } } });
    } else if (request.method === "tools/call") send({ id: request.id, result: { content: [{ type: "text", text: String(lists) }] } });
    else if (request.id !== undefined) send({ id: request.id, result: {} });
  }
});
`;

const script = join(dir, "hostile-server.js");
writeFileSync(script, HOSTILE_SERVER);

test("a storm of tools/list_changed is answered by a few listings, not one each", async () => {
  const server: McpServerConfig = { name: "storm", transport: "stdio", command: process.execPath, args: [script], policy: "allow", tools: {} };
  const changes: ConnectionChange[] = [];
  const connection = new McpConnection({
    server,
    settings: DEFAULT_MCP,
    workspaceDir: dir,
    sandboxPolicy: DEFAULT_SANDBOX_POLICY,
    version: "test",
    env: {},
    onChange: (change) => changes.push(change),
  });
  try {
    connection.start();
    await waitUntil("the server is up", () => connection.state.kind === "up", 20_000);
    const storm = connection.tools.find((entry) => entry.tool === "storm");
    const lists = connection.tools.find((entry) => entry.tool === "lists");
    if (!storm || !lists) throw new Error("the server's tools were not listed");
    const signal = AbortSignal.timeout(20_000);
    expect((await connection.call(storm, {}, signal)).output).toBe("sent");
    // Every notification has arrived once the call's answer has (the server wrote them first); the listings they
    // brought settle within moments.
    let count = Number.NaN;
    await waitUntil(
      "the listings to settle",
      async () => {
        const before = Number((await connection.call(lists, {}, signal)).output);
        await Bun.sleep(200);
        count = Number((await connection.call(lists, {}, signal)).output);
        return count === before;
      },
      20_000,
    );
    // The start's listing, then at most one running and one more after it.
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(5);
  } finally {
    await connection.stop();
  }
}, 60_000);

test("a workflow step's MCP result is redacted where it is made: the server's own credential never reaches the step's output", async () => {
  const token = `wf-${crypto.randomUUID()}`;
  const server: McpServerConfig = {
    name: "leaky",
    transport: "stdio",
    command: process.execPath,
    args: [script],
    env: { API_TOKEN: "${LEAKY_TOKEN}" },
    policy: "allow",
    tools: {},
  };
  recordTrust(server, dir);
  const hub = new McpHub({
    servers: [server],
    settings: DEFAULT_MCP,
    workspaceDir: dir,
    sandboxPolicy: DEFAULT_SANDBOX_POLICY,
    version: "test",
    env: { LEAKY_TOKEN: token },
  });
  try {
    hub.start();
    await hub.ready(AbortSignal.timeout(20_000));
    // What a workflow step gets (workflows/mcp-steps.ts): the data, else the text; neither passes runTool.
    const step = await hub.callForWorkflow("leaky__secret", {}, AbortSignal.timeout(20_000));
    expect(step.ok).toBe(true);
    expect(step.output).toBe("token [REDACTED]");
    expect(step.data).toEqual({ token: "[REDACTED]" });
  } finally {
    await hub.close();
  }
}, 60_000);
