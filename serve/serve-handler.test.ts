import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { z } from "zod";
import { defineTool } from "../tools/define-tool.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { parseSse, post, readEvents, serveFixture } from "../testing/serve-fixture.ts";

const checkout = tempGitRepo("org-serve-checkout-");
afterAll(() => checkout[Symbol.dispose]());
const HEAD = gitSync(checkout.dir, ["rev-parse", "HEAD"]).trim();
const BASE = "http://org.test";
const TOKEN = "s3cret-token-for-tests";

/**
 * `serveFixture` with no sandbox started ahead of need: most sessions here run no tool, and each would otherwise start
 * one it never uses; the tools that do run here still run in the real sandbox, each started for its call.
 */
const handlerFixture = (options: Parameters<typeof serveFixture>[0]) =>
  serveFixture({ ...options, handlerOptions: { sandboxPolicy: sandboxPolicy({ poolSize: 0 }), ...options.handlerOptions } });

const GREETING = { rules: [{ reply: { text: "hello from {{lastMessage}}" } }] };
const errorOf = async (response: Response) => ((await response.json()) as { error: { status: number; message: string } }).error;

describe("serve handler: health and auth", () => {
  test("/health answers without a token, with the checkout's commit and branch and the tools", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir, apiToken: TOKEN });
    const response = await fixture.handler.fetch(new Request(`${BASE}/health`));
    expect(response.status).toBe(200);
    const health = (await response.json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, version: "9.9.9", commit: HEAD, branch: "main", tools: ["sh", "python_run"] });
    expect(typeof health.uptimeS).toBe("number");
  });

  test("with a token: no header, a wrong token and a token of the same length are 401; the right one passes", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir, apiToken: TOKEN });
    const tools = (headers: Record<string, string>) => fixture.handler.fetch(new Request(`${BASE}/v1/tools`, { headers }));
    const missing = await tools({});
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    expect((await errorOf(missing)).message).toContain("Authorization: Bearer");
    expect((await tools({ authorization: "Bearer nope" })).status).toBe(401);
    const sameLength = `${TOKEN.slice(0, -1)}X`;
    expect((await tools({ authorization: `Bearer ${sameLength}` })).status).toBe(401);
    expect((await tools({ authorization: TOKEN })).status).toBe(401);
    expect((await tools({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    // Unknown routes do not tell a stranger what exists.
    expect((await fixture.handler.fetch(new Request(`${BASE}/secret-route`))).status).toBe(401);
    expect((await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "hi" }))).status).toBe(401);
    expect((await fixture.handler.fetch(new Request(`${BASE}/metrics`))).status).toBe(401);
  });

  test("without a token every route answers without a header", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir });
    expect((await fixture.handler.fetch(new Request(`${BASE}/v1/tools`))).status).toBe(200);
    expect((await fixture.handler.fetch(new Request(`${BASE}/metrics`))).status).toBe(200);
  });
});

describe("serve handler: refused requests say what was wrong, as JSON", () => {
  test("bad bodies: not JSON, empty, missing or extra fields, wrong types → 400 naming the field", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir });
    const send = (body: string) => fixture.handler.fetch(post(`${BASE}/v1/messages`, body));
    const notJson = await send("{text:");
    expect(notJson.status).toBe(400);
    expect((await errorOf(notJson)).message).toContain("not valid JSON");
    expect((await errorOf(await send(""))).message).toContain("no body");
    expect((await errorOf(await send("{}"))).message).toContain("text");
    expect((await errorOf(await send(JSON.stringify({ text: "hi", extra: 1 })))).message).toContain("extra");
    expect((await errorOf(await send(JSON.stringify({ text: 5 })))).message).toContain("text");
    expect((await errorOf(await send(JSON.stringify({ text: "hi", session: "../../etc/passwd" })))).message).toContain("session");
    expect((await errorOf(await send(JSON.stringify({ text: "hi", request_id: "a b\nc" })))).message).toContain("request_id");
    const badMode = await send(JSON.stringify({ text: "hi", mode: "direct:nobody" }));
    expect(badMode.status).toBe(400);
    expect((await errorOf(badMode)).message).toContain("mode");
  });

  test("a body that is not declared JSON is 415: what a web page may send cross-site without asking", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const response = await fixture.handler.fetch(
        new Request(`${BASE}/v1/messages`, { method: "POST", headers: { "content-type": type }, body: JSON.stringify({ text: "run rm -rf" }) }),
      );
      expect(response.status).toBe(415);
    }
    expect(fixture.server.requests).toHaveLength(0);
    const typed = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "hi" }, { "content-type": "application/json; charset=utf-8" }));
    expect(typed.status).toBe(200);
    await typed.text();
  });

  test("without a token, only loopback Host names and no foreign Origin are answered (DNS rebinding, cross-site pages)", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir, loopbackOnly: true });
    const get = (url: string, headers: Record<string, string> = {}) => fixture.handler.fetch(new Request(url, { headers }));
    expect((await get("http://127.0.0.1:7001/health")).status).toBe(200);
    expect((await get("http://localhost:7001/v1/tools")).status).toBe(200);
    expect((await get("http://[::1]:7001/v1/tools")).status).toBe(200);
    const rebound = await get("http://attacker.example:7001/v1/tools");
    expect(rebound.status).toBe(403);
    expect((await errorOf(rebound)).message).toContain("127.0.0.1 or localhost");
    expect((await get("http://127.0.0.1:7001/v1/tools", { host: "127.0.0.1.attacker.example" })).status).toBe(403);
    const page = await fixture.handler.fetch(post("http://127.0.0.1:7001/v1/messages", { text: "hi" }, { origin: "https://attacker.example" }));
    expect(page.status).toBe(403);
    expect((await errorOf(page)).message).toContain("web pages");
    // A page on another loopback port is the same site but another origin: it reads nothing either (issue 74, item 5a);
    // the server's own page, and a program without Origin, do.
    const otherPort = await get("http://127.0.0.1:7001/v1/tools", { origin: "http://localhost:3000" });
    expect(otherPort.status).toBe(403);
    expect((await errorOf(otherPort)).message).toContain("another origin");
    expect((await get("http://127.0.0.1:7001/v1/tools", { origin: "http://127.0.0.1:7001" })).status).toBe(200);
    expect(fixture.server.requests).toHaveLength(0);
  });

  test("a body over serve.maxBodyBytes is 413, declared or streamed without a length", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir, serve: { maxBodyBytes: 2048 } });
    const huge = JSON.stringify({ text: "x".repeat(10_000) });
    const declared = await fixture.handler.fetch(post(`${BASE}/v1/messages`, huge));
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).message).toContain("2048 bytes");
    const chunks = new ReadableStream({
      start(controller) {
        for (let index = 0; index < 10; index += 1) controller.enqueue(new TextEncoder().encode("x".repeat(1000)));
        controller.close();
      },
    });
    const streamed = await fixture.handler.fetch(
      new Request(`${BASE}/v1/tools/sh/run`, { method: "POST", body: chunks, headers: { "content-type": "application/json" } }),
    );
    expect(streamed.status).toBe(413);
  });

  test("an unexpected failure is a 500 that names the request id; the stack goes to the server's log only", async () => {
    const boom = defineTool("boom", {
      description: "Breaks the server.",
      parameters: z.object({}).transform(() => {
        throw new TypeError("a bug deep inside");
      }),
      execute: async () => "never",
    });
    await using fixture = await handlerFixture({
      script: GREETING,
      checkoutDir: checkout.dir,
      builtIns: [boom],
      serve: { tools: { boom: "allow" } },
    });
    const response = await fixture.handler.fetch(post(`${BASE}/v1/tools/boom/run`, { inputs: {} }, { "x-request-id": "bug-1" }));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toContain("bug-1");
    expect(text).not.toContain("a bug deep inside");
    expect(text).not.toContain("    at ");
    expect(fixture.errors.join("\n")).toContain("a bug deep inside");
    expect(fixture.errors.join("\n")).toContain("    at ");
  });

  test("unknown routes are 404, wrong methods 405 with Allow, a bad escape in a tool name 404", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir });
    const unknown = await fixture.handler.fetch(new Request(`${BASE}/v2/everything`));
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).message).toContain("GET /health");
    const wrong = await fixture.handler.fetch(new Request(`${BASE}/v1/messages`));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await fixture.handler.fetch(new Request(`${BASE}/health`, { method: "DELETE" }))).status).toBe(405);
    expect((await fixture.handler.fetch(post(`${BASE}/v1/tools/%ZZ/run`, { inputs: {} }))).status).toBe(404);
    expect((await fixture.handler.fetch(post(`${BASE}/v1/tools/__proto__/run`, { inputs: {} }))).status).toBe(404);
  });
});

describe("serve handler: messages as the room's events", () => {
  test("one turn streams as SSE; the session continues with its history; an unknown session is 404", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir });
    const first = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "first words", mode: "direct:agent", request_id: "req-1" }));
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toContain("text/event-stream");
    expect(first.headers.get("x-request-id")).toBe("req-1");
    const session = first.headers.get("x-org-session") as string;
    const events = parseSse(await first.text());
    // How many text-delta events carry the text depends on chunking; one run of them is what matters.
    const types = events.map((event) => event.type).filter((type, index, all) => type !== "text-delta" || all[index - 1] !== "text-delta");
    expect(types).toEqual(["mode", "turn-start", "message", "reply-start", "waiting", "text-delta", "message", "reply-end", "turn-end"]);
    expect(
      events
        .filter((event) => event.type === "text-delta")
        .map((event) => (event as { text: string }).text)
        .join(""),
    ).toBe("hello from first words");
    expect(existsSync(join(fixture.workspaceDir, ".org", "sessions", `${session}.jsonl`))).toBe(true);

    const second = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "second words", session }));
    expect(second.headers.get("x-org-session")).toBe(session);
    expect(parseSse(await second.text()).at(-1)).toMatchObject({ type: "turn-end", ok: true });
    const lastRequest = fixture.server.requests.at(-1)?.body as { messages: { content: string }[] };
    const contents = lastRequest.messages.map((message) => message.content).join("\n");
    expect(contents).toContain("first words");
    expect(contents).toContain("hello from first words");
    // The mode chosen in the first request holds for the session: only agent answered.
    expect(fixture.server.requests.filter((request) => request.path === "/v1/chat/completions")).toHaveLength(2);

    const unknown = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "x", session: "20200101-000000-abcdef" }));
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).message).toContain("no session");
  });

  test("requests of one session run one after another; different sessions run at once", async () => {
    // The first byte comes a second late: ample time for both sessions' turns to start on a busy machine.
    const slow = {
      rules: [
        { when: { lastMessage: "three|four" }, reply: { text: "a slow and careful answer", firstByteDelayMs: 1000 } },
        { reply: { text: "a slow and careful answer", chunkSize: 4, delayMs: 20 } },
      ],
    };
    await using fixture = await handlerFixture({ script: slow, checkoutDir: checkout.dir, concurrency: 4 });
    const opened = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "open", mode: "direct:agent" }));
    const session = opened.headers.get("x-org-session") as string;
    await opened.text();
    const timeline: string[] = [];
    // Events are noted as they arrive, not when the whole body is in.
    const run = async (label: string, body: Record<string, unknown>) => {
      const response = await fixture.handler.fetch(post(`${BASE}/v1/messages`, body));
      await readEvents(response, (event) => {
        if (event.type === "turn-start" || event.type === "turn-end") timeline.push(`${label}:${event.type}`);
      });
    };
    await Promise.all([run("a", { text: "one", session }), run("b", { text: "two", session })]);
    expect(timeline).toEqual(["a:turn-start", "a:turn-end", "b:turn-start", "b:turn-end"]);

    timeline.length = 0;
    await Promise.all([run("c", { text: "three", mode: "direct:agent" }), run("d", { text: "four", mode: "direct:agent" })]);
    expect(timeline.slice(0, 2).sort()).toEqual(["c:turn-start", "d:turn-start"]);
  });

  test("past serve.turns running and serve.queue waiting, a request gets 429 with Retry-After", async () => {
    const slow = { rules: [{ reply: { text: "taking my time here", firstByteDelayMs: 1000 } }] };
    await using fixture = await handlerFixture({ script: slow, checkoutDir: checkout.dir, serve: { turns: 1, queue: 0 } });
    const running = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "hold", mode: "direct:agent" }));
    expect(running.status).toBe(200);
    const refused = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "me too", mode: "direct:agent" }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await errorOf(refused)).message).toContain("serve.turns");
    await running.text();
    expect((await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "now", mode: "direct:agent" }))).status).toBe(200);
  });

  test("the request id reaches the audit log of the tools the turn ran (real sandbox)", async () => {
    const script = {
      rules: [
        { when: { lastRole: "tool" as const }, reply: { text: "done: {{lastMessage}}" } },
        { reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo audited" } }] } },
      ],
    };
    await using fixture = await handlerFixture({ script, checkoutDir: checkout.dir });
    const response = await fixture.handler.fetch(
      post(`${BASE}/v1/messages`, { text: "run it", mode: "direct:agent" }, { "x-request-id": "trace-42" }),
    );
    expect(response.headers.get("x-request-id")).toBe("trace-42");
    const events = parseSse(await response.text());
    expect(events.find((event) => event.type === "tool-result")).toMatchObject({ ok: true });
    const auditDir = join(fixture.workspaceDir, ".org", "audit");
    const lines = readdirSync(auditDir).flatMap((file) => readFileSync(join(auditDir, file), "utf8").trim().split("\n"));
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(expect.objectContaining({ tool: "sh", requestId: "trace-42", ok: true }));
  });
});

describe("serve handler: tools over HTTP", () => {
  test("GET /v1/tools lists each tool with its schema and HTTP policy", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir, serve: { tools: { sh: "allow" } } });
    const listing = (await (await fixture.handler.fetch(new Request(`${BASE}/v1/tools`))).json()) as {
      tools: { name: string; http: string; origin: string; parameters: { properties: object } }[];
    };
    expect(listing.tools.map((tool) => [tool.name, tool.origin, tool.http])).toEqual([
      ["sh", "built-in", "allow"],
      ["python_run", "built-in", "ask"],
    ]);
    expect(Object.keys(listing.tools[0]?.parameters.properties ?? {})).toContain("cmd");
  });

  test("a tool runs in the sandbox only when serve.tools allows it; ask and deny are 403; bad inputs 400", async () => {
    await using fixture = await handlerFixture({
      script: GREETING,
      checkoutDir: checkout.dir,
      serve: { tools: { sh: "allow", python_run: "deny" } },
    });
    const run = (name: string, inputs: unknown, headers: Record<string, string> = {}) =>
      fixture.handler.fetch(post(`${BASE}/v1/tools/${name}/run`, { inputs }, headers));
    const ran = await run("sh", { cmd: "echo from-the-sandbox; id -u" }, { "x-request-id": "tool-req" });
    expect(ran.status).toBe(200);
    const result = (await ran.json()) as { ok: boolean; output: string };
    expect(result.ok).toBe(true);
    expect(result.output).toContain("from-the-sandbox");
    const failed = (await (await run("sh", { cmd: "exit 3" })).json()) as { ok: boolean; exitCode: number };
    expect(failed).toMatchObject({ ok: false, exitCode: 3 });
    const denied = await run("python_run", { code: "print(1)" });
    expect(denied.status).toBe(403);
    expect((await errorOf(denied)).message).toContain('"deny"');
    expect((await run("sh", { command: "ls" })).status).toBe(400);
    expect((await run("nope", {})).status).toBe(404);
    const auditDir = join(fixture.workspaceDir, ".org", "audit");
    const audit = readdirSync(auditDir)
      .map((file) => readFileSync(join(auditDir, file), "utf8"))
      .join("");
    expect(audit).toContain('"requestId":"tool-req"');
  });

  test("by default a tool is 'ask' over HTTP, which nobody can answer: denied", async () => {
    await using fixture = await handlerFixture({ script: GREETING, checkoutDir: checkout.dir });
    const denied = await fixture.handler.fetch(post(`${BASE}/v1/tools/sh/run`, { inputs: { cmd: "echo no" } }));
    expect(denied.status).toBe(403);
    expect((await errorOf(denied)).message).toContain("nobody can approve over HTTP");
  });
});

describe("serve handler: metrics", () => {
  test("counts requests by route and status, tool runs per tool, durations and tokens", async () => {
    const script = {
      rules: [
        { when: { lastRole: "tool" as const }, reply: { text: "ok" } },
        { when: { lastMessage: "tool" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "false" } }] } },
        { reply: { text: "plain answer" } },
      ],
    };
    await using fixture = await handlerFixture({ script, checkoutDir: checkout.dir, serve: { tools: { sh: "allow" } } });
    for (let index = 0; index < 3; index += 1) await fixture.handler.fetch(new Request(`${BASE}/health`));
    await fixture.handler.fetch(new Request(`${BASE}/nowhere/${"x".repeat(10)}`));
    await fixture.handler.fetch(new Request(`${BASE}/nowhere/else`));
    await (await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "use a tool", mode: "direct:agent" }))).text();
    await fixture.handler.fetch(post(`${BASE}/v1/tools/sh/run`, { inputs: { cmd: "true" } }));
    const text = await (await fixture.handler.fetch(new Request(`${BASE}/metrics`))).text();
    expect(text).toContain('org_http_requests_total{route="/health",method="GET",status="200"} 3');
    expect(text).toContain('org_http_requests_total{route="unmatched",method="GET",status="404"} 2');
    expect(text).toContain('org_http_requests_total{route="/v1/messages",method="POST",status="200"} 1');
    expect(text).toContain('org_tool_runs_total{tool="sh",result="failed"} 1');
    expect(text).toContain('org_tool_runs_total{tool="sh",result="ok"} 1');
    expect(text).toContain('org_tool_run_duration_seconds_count{tool="sh"} 2');
    expect(text).toMatch(/org_http_request_duration_seconds_bucket\{route="\/health",le="\+Inf"\} 3/);
    expect(text).toMatch(/org_tokens_total\{persona="agent",kind="completion"\} [1-9]/);
    expect(text).toContain("org_turns_in_progress 0");
    expect(text.endsWith("\n")).toBe(true);
  });

  test("a tool name the model made up is counted as (unknown), not as a series of its own", async () => {
    const script = {
      rules: [
        { when: { lastRole: "tool" as const }, reply: { text: "ok" } },
        { reply: { toolCalls: [{ name: 'evil"} 1\norg_fake_total 99', arguments: {} }] } },
      ],
    };
    await using fixture = await handlerFixture({ script, checkoutDir: checkout.dir });
    await (await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "go", mode: "direct:agent" }))).text();
    const text = await (await fixture.handler.fetch(new Request(`${BASE}/metrics`))).text();
    expect(text).toContain('org_tool_runs_total{tool="(unknown)",result="failed"} 1');
    expect(text).not.toContain("evil");
    expect(text).not.toContain("org_fake_total");
  });
});
