import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawHttp, type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";
import { seededFractions } from "../testing/seeded-random.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import type { Route } from "./router.ts";
import { type RunningServe, startServe } from "./start-serve.ts";

// serve's own route table, asked over a real socket on 127.0.0.1: each route answers for its method, any other
// method is 405 with Allow, any other path the router's 404 naming every route.
const checkout = tempGitRepo("org-serve-routes-");
const TOKEN = "routes-test-token-42";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_HEADERS = { ...AUTH, "content-type": "application/json" };
const MCP_HEADERS = { ...JSON_HEADERS, accept: "application/json, text/event-stream" };
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "routes", version: "1" } },
};

let fixture: ServeFixture;
let server: RunningServe;
beforeAll(async () => {
  fixture = await serveFixture({
    script: { rules: [{ reply: { text: "hi" } }] },
    checkoutDir: checkout.dir,
    apiToken: TOKEN,
    serve: { tools: { sh: "allow" } },
  });
  server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await server?.stop(true);
  await fixture?.[Symbol.asyncDispose]();
  checkout[Symbol.dispose]();
});

/** A request, the status its handler gives and a piece of its body only that handler writes. */
type Sample = { path: string; init: RequestInit; status: number; says: string };

/** One request per `METHOD pattern` that its handler answers in full; a route missing here fails the test. */
async function samples(): Promise<{ wanted: Map<string, Sample>; mcpSession: Record<string, string> }> {
  const at = (status: number, says: string, path: string, init: RequestInit = {}): Sample => ({
    path,
    init: { headers: AUTH, ...init },
    status,
    says,
  });
  const posted = (body: unknown) => ({ method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
  const job = (await (await fetch(`${server.url}/v1/jobs`, posted({ text: "hello" }))).json()) as { id: string };
  const { session } = (await (await fetch(`${server.url}/v1/sessions`, posted({ mode: "direct:agent" }))).json()) as { session: string };
  const init = await fetch(`${server.url}/mcp`, { method: "POST", headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
  await init.text();
  const mcpSession = { ...MCP_HEADERS, "mcp-session-id": init.headers.get("mcp-session-id") ?? "", "mcp-protocol-version": "2025-06-18" };
  const wanted = new Map([
    ["GET /health", at(200, '"uptimeS"', "/health", { headers: {} })],
    ["POST /v1/messages", at(200, '"type":"turn-end"', "/v1/messages", posted({ text: "hello", mode: "direct:agent" }))],
    ["GET /v1/sessions", at(200, `"id":"${session}"`, "/v1/sessions")],
    ["POST /v1/sessions", at(201, '"session":"', "/v1/sessions", posted({}))],
    ["GET /v1/sessions/:id", at(200, '"type":"session-start"', `/v1/sessions/${session}`)],
    ["GET /v1/sessions/:id/transcript", at(200, '"before":null', `/v1/sessions/${session}/transcript?before=0`)],
    // The stream never ends by itself: an unknown session's 404 is its handler's answer.
    ["GET /v1/sessions/:id/events", at(404, "GET /v1/sessions lists them", "/v1/sessions/gone-session/events")],
    ["GET /v1/sessions/:id/screenshot", at(404, "data.screenshot names one", `/v1/sessions/${session}/screenshot?path=screenshots/none.png`)],
    ["POST /v1/sessions/:id/messages", at(202, '"turnId":"', `/v1/sessions/${session}/messages`, posted({ text: "hello" }))],
    [
      "POST /v1/sessions/:id/approvals/:approvalId",
      at(404, "there is no approval question", `/v1/sessions/${session}/approvals/a1`, posted({ answer: "yes" })),
    ],
    ["POST /v1/sessions/:id/stop", at(200, '"stopped":', `/v1/sessions/${session}/stop`, posted({}))],
    ["POST /v1/stream-tickets", at(200, '"expiresInMs":60000', "/v1/stream-tickets", posted({}))],
    ["POST /v1/jobs", at(202, '"state":"queued"', "/v1/jobs", posted({ text: "again" }))],
    ["GET /v1/jobs/:id", at(200, '"events":[', `/v1/jobs/${job.id}`)],
    ["GET /v1/jobs/:id/events", at(200, "id: 0\n", `/v1/jobs/${job.id}/events`)],
    ["GET /v1/tools", at(200, '"personas":', "/v1/tools")],
    ["POST /v1/tools/:name/run", at(200, '"tool":"sh","ok":true', "/v1/tools/sh/run", posted({ inputs: { cmd: "true" } }))],
    ["GET /v1/workflows", at(200, '"workflows":[', "/v1/workflows")],
    ["POST /v1/workflows/:name/run", at(404, 'there is no workflow \\"nope\\"', "/v1/workflows/nope/run", posted({ inputs: {} }))],
    ["GET /metrics", at(200, "org_http_requests_total", "/metrics")],
    ["POST /v1/admin/reload", at(200, '"reloaded":true', "/v1/admin/reload", { method: "POST", headers: AUTH })],
    ["GET /v1/models", at(200, '"object":"list"', "/v1/models")],
    ["GET /v1/models/:id", at(200, '"id":"agent"', "/v1/models/agent")],
    [
      "POST /v1/chat/completions",
      at(200, '"object":"chat.completion"', "/v1/chat/completions", posted({ model: "agent", messages: [{ role: "user", content: "hi" }] })),
    ],
    [
      "POST /mcp",
      at(200, '"result":{"tools":', "/mcp", {
        method: "POST",
        headers: mcpSession,
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
      }),
    ],
    // The SDK's own refusal of a GET that does not take SSE: its stream would send nothing until a list change.
    ["GET /mcp", at(406, "Client must accept text/event-stream", "/mcp", { headers: { ...mcpSession, accept: "application/json" } })],
    ["DELETE /mcp", at(200, "", "/mcp", { method: "DELETE", headers: mcpSession })],
  ]);
  return { wanted, mcpSession };
}

const keysOf = (routes: readonly Route[]) => routes.flatMap((entry) => entry.methods.map((method) => `${method} ${entry.pattern}`));

async function errorOf(response: Response): Promise<{ status: number; message: string }> {
  return ((await response.json()) as { error: { status: number; message: string } }).error;
}

describe("serve's route table over a real socket", () => {
  test("every route of the table answers its own method with its handler's answer", async () => {
    const { wanted, mcpSession } = await samples();
    const declared = keysOf(fixture.handler.routes);
    expect([...wanted.keys()].sort()).toEqual([...declared].sort());
    for (const key of declared) {
      const sample = wanted.get(key) as Sample;
      const method = key.split(" ")[0] ?? "";
      const response = await fetch(`${server.url}${sample.path}`, { ...sample.init, method, signal: AbortSignal.timeout(30_000) });
      const body = await response.text();
      expect({ key, status: response.status, says: body.includes(sample.says) }).toEqual({ key, status: sample.status, says: true });
    }
    // DELETE /mcp reached MCP's handler: the session it ended is gone.
    const after = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: mcpSession,
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }),
    });
    expect(after.status).toBe(404);
    // The MCP SDK reports its own 406 to serve's log; nothing else may be there.
    expect(fixture.errors.filter((line) => !line.startsWith("mcp: Error: Not Acceptable"))).toEqual([]);
  }, 60_000);

  test("a method a path does not take is 405 with the path's methods in Allow", async () => {
    const byPattern = new Map<string, string[]>();
    for (const entry of fixture.handler.routes) byPattern.set(entry.pattern, [...(byPattern.get(entry.pattern) ?? []), ...entry.methods]);
    for (const [pattern, methods] of byPattern) {
      const path = pattern.replace(/:\w+/g, "x1");
      for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"].filter((candidate) => !methods.includes(candidate))) {
        const response = await fetch(`${server.url}${path}`, { method, headers: AUTH });
        expect({ path, method, status: response.status, allow: response.headers.get("allow") }).toEqual({
          path,
          method,
          status: 405,
          allow: methods.join(", "),
        });
        expect((await errorOf(response)).message).toContain(`use ${methods.join(", ")}`);
      }
    }
  });

  test("an unknown path is 404 naming every route of the table, only for a caller with the token", async () => {
    const response = await fetch(`${server.url}/v2/everything`, { headers: AUTH });
    expect(response.status).toBe(404);
    const { message } = await errorOf(response);
    for (const key of keysOf(fixture.handler.routes)) expect(message).toContain(key);
    expect((await fetch(`${server.url}/v2/everything`)).status).toBe(401);
  });

  test("HTTP/1.0 without Host is 400 before auth asks for the token (no route can be matched without a URL)", async () => {
    const raw = await rawHttp(server.port, "GET /v1/tools HTTP/1.0\r\n\r\n");
    expect(raw.split("\r\n")[0]).toMatch(/^HTTP\/1\.[01] 400 /);
    expect(raw).toContain("no Host header");
    expect(raw.toLowerCase()).toContain("x-request-id: ");
  });

  test("no path outside the table reaches a handler: 300 seeded near-misses are all the router's 404", async () => {
    const random = seededFractions(4);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const paths = fixture.handler.routes.map((entry) => entry.pattern.replace(/:\w+/g, "x1"));
    const metricsBefore = await (await fetch(`${server.url}/metrics`, { headers: AUTH })).text();
    const unmatched = (text: string, method: string) =>
      Number(new RegExp(`org_http_requests_total\\{route="unmatched",method="${method}",status="404"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const sent = { GET: 0, POST: 0 };
    for (let index = 0; index < 300; index += 1) {
      const base = pick(paths);
      const near = [`${base}/`, `${base}/x`, `${base}x`, `/v1${base}`, base.toUpperCase(), `${base}%2Fx`, `/x${base}`, base.replace(/\/[^/]+$/, "")];
      const path = pick(near) || "/";
      // Paths that fold back into a route (`/V1/…` for `/mcp`, `/mcp` from `/mcp/x` cut) are the table's, not a miss.
      if (paths.some((known) => known === path) || fixture.handler.routes.some((entry) => entry.params(path) !== undefined)) continue;
      const method = pick(["GET", "POST"] as const);
      const response = await fetch(`${server.url}${path}`, { method, headers: JSON_HEADERS, ...(method === "POST" ? { body: "{}" } : {}) });
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect((await errorOf(response)).message).toStartWith(`no route ${path}; the routes are GET /health`);
      sent[method] += 1;
    }
    expect(sent.GET + sent.POST).toBeGreaterThan(200);
    const metricsAfter = await (await fetch(`${server.url}/metrics`, { headers: AUTH })).text();
    for (const method of ["GET", "POST"] as const) expect(unmatched(metricsAfter, method) - unmatched(metricsBefore, method)).toBe(sent[method]);
  });
});
