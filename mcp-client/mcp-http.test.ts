// A server over Streamable HTTP: @modelcontextprotocol/server-everything in its HTTP mode, behind a gate on loopback
// that wants a bearer token, as a hosted server would. The token comes from the environment through `${VAR}`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { freePort } from "../testing/free-port.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { McpHub } from "./mcp-hub.ts";
import { recordTrust } from "./mcp-trust.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const EVERYTHING = join(import.meta.dir, "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const TOKEN = `http-test-${crypto.randomUUID()}`;

const workspace = mkdtempSync(join(tmpdir(), "org-mcp-http-"));
chmodSync(workspace, 0o755);
let upstream: ReturnType<typeof Bun.spawn>;
let gate: ReturnType<typeof Bun.serve>;
const seen: (string | null)[] = [];
let hub: McpHub;

beforeAll(async () => {
  const port = freePort();
  upstream = Bun.spawn([process.execPath, EVERYTHING, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdout: "pipe",
    stderr: "pipe",
  });
  await waitUntil(
    "server-everything to listen",
    async () =>
      fetch(`http://127.0.0.1:${port}/mcp`).then(
        () => true,
        () => false,
      ),
    30_000,
  );
  gate = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      seen.push(request.headers.get("authorization"));
      if (request.headers.get("authorization") !== `Bearer ${TOKEN}`) return new Response("unauthorized", { status: 401 });
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      try {
        const answer = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, {
          method: request.method,
          headers,
          body: request.method === "GET" || request.method === "HEAD" ? null : await request.arrayBuffer(),
        });
        return new Response(answer.body, { status: answer.status, headers: answer.headers });
      } catch {
        return new Response("bad gateway", { status: 502 });
      }
    },
  });
  const url = `http://127.0.0.1:${gate.port}/mcp`;
  const servers: McpServerConfig[] = [
    { name: "remote", transport: "http", url, headers: { Authorization: "Bearer ${ORG_MCP_HTTP_TOKEN}" }, policy: "ask", tools: { echo: "allow" } },
    { name: "wrong", transport: "http", url, headers: { Authorization: "Bearer ${ORG_MCP_WRONG_TOKEN}" }, policy: "ask", tools: {} },
    { name: "unset", transport: "http", url, headers: { Authorization: "Bearer ${ORG_MCP_UNSET_TOKEN}" }, policy: "ask", tools: {} },
  ];
  for (const server of servers) recordTrust(server, workspace);
  hub = new McpHub({
    ...testSandboxAccess(),
    servers,
    settings: { callTimeoutS: 10, startTimeoutS: 20 },
    workspaceDir: workspace,
    sandboxPolicy: sandboxPolicy({ poolSize: 0 }),
    version: "test",
    env: { ORG_MCP_HTTP_TOKEN: TOKEN, ORG_MCP_WRONG_TOKEN: "not-the-token" },
  });
  hub.start();
  await hub.ready();
}, 60_000);

afterAll(async () => {
  await hub.close();
  gate.stop(true);
  upstream.kill("SIGKILL");
  await upstream.exited;
  rmSync(workspace, { recursive: true, force: true });
});

const state = (name: string) => hub.status().find((entry) => entry.name === name);

test("headers carry the token from the environment; a wrong one fails the start with the server's answer; an unset one keeps it off", async () => {
  expect(state("remote")?.state).toBe("up");
  expect(seen).toContain(`Bearer ${TOKEN}`);
  expect(state("wrong")?.state).toBe("down");
  expect(state("wrong")?.detail).toContain("it failed to start: Streamable HTTP error: Error POSTing to endpoint: unauthorized");
  expect(state("unset")).toMatchObject({
    state: "off",
    detail: "its headers names ORG_MCP_UNSET_TOKEN, which is not set: export it in the shell that starts org",
  });
  const echo = hub.tools().find((tool) => tool.tool.name === "remote__echo");
  expect(echo?.policy).toBe("allow");
  const result = await echo?.tool.execute(
    { message: "over http" },
    { ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir: workspace },
  );
  expect(result).toMatchObject({ ok: true, output: "Echo: over http" });
}, 30_000);

test("an endpoint that stops answering: the call fails as a result, and the server counts as down until it is back", async () => {
  upstream.kill("SIGKILL");
  await upstream.exited;
  const echo = hub.tools().find((tool) => tool.tool.name === "remote__echo");
  const result = await echo?.tool.execute(
    { message: "anyone?" },
    { ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir: workspace },
  );
  expect(typeof result === "object" && result.ok).toBe(false);
  await waitUntil("remote to count as down", () => state("remote")?.state === "down" || state("remote")?.state === "starting", 15_000);
  // Its tools stay offered while it is down; a call is answered at once, saying so.
  const again = await echo?.tool.execute(
    { message: "still?" },
    { ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir: workspace },
  );
  expect(typeof again === "object" && again.output).toMatch(/the MCP server remote is (down|starting)/);
}, 30_000);
