import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSse, post, rawHttp, readEvents, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { bindServe, isLoopbackHost, ServeStartError, startServe } from "./start-serve.ts";
import { waitUntil } from "../testing/wait-until.ts";

const checkout = tempGitRepo("org-serve-http-");
afterAll(() => checkout[Symbol.dispose]());
const TOKEN = "http-test-token-123";

describe("serve over a real socket on 127.0.0.1", () => {
  test("auth on: /health open, everything else needs the bearer token", async () => {
    await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir, apiToken: TOKEN });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    try {
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/tools`)).status).toBe(401);
      expect((await fetch(`${server.url}/v1/tools`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
      expect((await fetch(`${server.url}/v1/tools`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      const huge = await fetch(post(`${server.url}/v1/messages`, { text: "x".repeat(1024 * 1024) }, { authorization: `Bearer ${TOKEN}` }));
      expect(huge.status).toBe(413);
      expect(((await huge.json()) as { error: { message: string } }).error.message).toContain("65536 bytes");
    } finally {
      await server.stop(true);
    }
  });

  test("HTTP/1.0 without a Host header gets a 400 with the JSON error shape, not a 500", async () => {
    for (const loopbackOnly of [false, true]) {
      await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir, loopbackOnly });
      const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
      try {
        for (const path of ["/health", "/v1/tools"]) {
          const raw = await rawHttp(server.port, `GET ${path} HTTP/1.0\r\n\r\n`);
          expect(raw.split("\r\n")[0]).toMatch(/^HTTP\/1\.[01] 400 /);
          const body = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as { error: { status: number; code: string; message: string } };
          expect(body.error).toMatchObject({ status: 400, code: "bad_request" });
          expect(body.error.message).toContain("Host");
        }
        expect(fixture.errors).toEqual([]);
      } finally {
        await server.stop(true);
      }
    }
  });

  test("a host beyond loopback without a token is refused before anything listens; with one it starts", async () => {
    await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir });
    expect(() => startServe({ handler: fixture.handler, host: "0.0.0.0", port: 0 })).toThrow(ServeStartError);
    expect(() => startServe({ handler: fixture.handler, host: "0.0.0.0", port: 0 })).toThrow(/ORG_API_TOKEN/);
    for (const host of ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"]) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "example.com", "127.0.0.1.nip.io"]) expect(isLoopbackHost(host)).toBe(false);
    // Not an IPv4 address as node:net reads one (a leading zero, a part over 255, fewer parts): a name, so not loopback.
    for (const host of ["127.0.0.01", "0127.0.0.1", "127.256.0.1", "127.1", "127.0.0.1."]) expect(isLoopbackHost(host)).toBe(false);
    await using guarded = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir, apiToken: TOKEN });
    const server = startServe({ handler: guarded.handler, host: "0.0.0.0", port: 0 });
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/v1/tools`)).status).toBe(401);
    } finally {
      await server.stop(true);
    }
  });

  test("a bound port holds a request until the handler is given; a bind that stops first answers it 503", async () => {
    await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir });
    const bound = bindServe({ host: "127.0.0.1", port: 0, authRequired: false });
    try {
      const early = fetch(`${bound.url}/health`);
      const answered = await Promise.race([early.then(() => "answered"), Bun.sleep(200).then(() => "waiting")]);
      expect(answered).toBe("waiting");
      bound.serve(fixture.handler);
      expect((await early).status).toBe(200);
    } finally {
      await bound.stop(true);
    }
    const stopped = bindServe({ host: "127.0.0.1", port: 0, authRequired: false });
    const pending = fetch(`${stopped.url}/health`).then(
      (response) => response.status,
      () => "closed",
    );
    await Bun.sleep(50);
    await stopped.stop(false);
    expect([503, "closed"]).toContain(await pending);
    // The bind was told of a token the handler does not ask for: refused, and the port let go.
    const open = bindServe({ host: "0.0.0.0", port: 0, authRequired: true });
    expect(() => open.serve(fixture.handler)).toThrow(/ORG_API_TOKEN/);
    expect(
      await fetch(`http://127.0.0.1:${open.port}/health`).then(
        (response) => response.status,
        () => "closed",
      ),
    ).not.toBe(200);
  });

  test("100 concurrent messages in 100 sessions all stream a whole turn; the server stays healthy", async () => {
    await using fixture = await serveFixture({
      script: { rules: [{ reply: { text: "answer for {{lastMessage}}" } }] },
      checkoutDir: checkout.dir,
      concurrency: 8,
      // No tool runs here: without the pool each of the 100 sessions would start a sandbox ahead of a call it never makes.
      handlerOptions: { sandboxPolicy: sandboxPolicy({ poolSize: 0 }) },
    });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, index) => {
          const response = await fetch(post(`${server.url}/v1/messages`, { text: `message ${index}`, mode: "direct:agent" }));
          const events = parseSse(await response.text());
          return { status: response.status, session: response.headers.get("x-org-session"), events, index };
        }),
      );
      expect(results.map((result) => result.status)).toEqual(Array(100).fill(200));
      expect(new Set(results.map((result) => result.session)).size).toBe(100);
      for (const result of results) {
        expect(result.events.at(-1)).toMatchObject({ type: "turn-end", ok: true });
        const text = result.events
          .filter((event) => event.type === "text-delta")
          .map((event) => (event as { text: string }).text)
          .join("");
        expect(text).toBe(`answer for message ${result.index}`);
      }
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('org_http_requests_total{route="/v1/messages",method="POST",status="200"} 100');
      expect(metrics).toContain("org_turns_in_progress 0");
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.stop(true);
    }
  });

  test("an SSE stream cut by the client stops the room's turn; nothing stays held; the session goes on", async () => {
    const long = "word ".repeat(400);
    const script = {
      rules: [{ when: { lastMessage: "long" }, reply: { text: long, chunkSize: 5, delayMs: 25 } }, { reply: { text: "short answer" } }],
    };
    await using fixture = await serveFixture({ script, checkoutDir: checkout.dir });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    try {
      const controller = new AbortController();
      const response = await fetch(post(`${server.url}/v1/messages`, { text: "tell me something long", mode: "direct:agent" }), {
        signal: controller.signal,
      });
      const session = response.headers.get("x-org-session") as string;
      let deltas = 0;
      await readEvents(response, (event) => {
        if (event.type === "text-delta" && ++deltas === 3) controller.abort();
      }).catch((error: Error) => expect(error.name).toBe("AbortError"));
      await waitUntil("the cut turn to end", () => fixture.handler.sessions.busy === 0);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain("org_turns_in_progress 0");
      // The transcript shows the reply stopped partway, not streamed to its end into nowhere.
      const transcript = readFileSync(join(fixture.workspaceDir, ".org", "sessions", `${session}.jsonl`), "utf8");
      const lines = transcript
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { event?: { type: string; message?: { from: string; text: string } } });
      const reply = lines.map((line) => line.event).find((event) => event?.type === "message" && event.message?.from === "agent");
      expect(reply?.message?.text.length ?? 0).toBeLessThan(long.length);
      expect(fixture.errors).toEqual([]);
      // The session's lock was given back: the next message of that session runs.
      const next = await fetch(post(`${server.url}/v1/messages`, { text: "and now?", session }));
      expect(parseSse(await next.text()).at(-1)).toMatchObject({ type: "turn-end", ok: true });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.stop(true);
    }
  });
});

describe("the serve command", () => {
  // Made when the tests run, not when the file loads: a filtered run that skips them leaves nothing behind.
  let workspace = "";
  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), "org-serve-cmd-"));
    chmodSync(workspace, 0o755);
  });
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  test("streams the same events as chat --once --json for the same message", async () => {
    await using model = await startScriptedServer({ script: { rules: [{ reply: { text: "the same answer, twice" } }] }, port: 0 });
    const env = { ...process.env, OLLAMA_BASE: model.url, OLLAMA_MODEL: "qwen3:8b", NO_COLOR: "1" };
    const chat = Bun.spawn(orgCommand(["chat", "--once", "hello there", "--json", "--mode", "direct:agent", "--workspace", workspace]), {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    const chatLines = (await new Response(chat.stdout).text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; text?: string });
    expect(await chat.exited).toBe(0);

    const serve = Bun.spawn(orgCommand(["serve", "--port", "0", "--workspace", workspace]), { env, stdout: "pipe", stderr: "pipe" });
    try {
      const reader = serve.stdout.getReader();
      const { value } = await reader.read();
      const url = /listening on (http:\/\/\S+)/.exec(new TextDecoder().decode(value))?.[1] as string;
      expect(url).toStartWith("http://127.0.0.1:");
      const health = (await (await fetch(`${url}/health`)).json()) as { ok: boolean; commit: string | null };
      expect(health.ok).toBe(true);
      const response = await fetch(post(`${url}/v1/messages`, { text: "hello there", mode: "direct:agent" }));
      const served = parseSse(await response.text()) as { type: string; text?: string }[];
      const shape = (events: { type: string; text?: string }[]) =>
        events.filter((event) => event.type !== "mode").map((event) => `${event.type}:${event.text ?? ""}`);
      expect(shape(served)).toEqual(shape(chatLines));
      reader.releaseLock();
    } finally {
      serve.kill("SIGTERM");
    }
    expect(await serve.exited).toBe(0);
    expect(await new Response(serve.stderr).text()).toContain("stopped");
  });

  test("ORG_SANDBOX=off is refused without --unsafe-no-sandbox, and the flag alone too; both together start it, warning", async () => {
    const run = async (args: string[], sandbox: string | undefined) => {
      const { ORG_SANDBOX: _unset, ...env } = process.env;
      const child = Bun.spawn(orgCommand(["serve", "--port", "0", "--workspace", workspace, ...args]), {
        env: { ...env, ...(sandbox === undefined ? {} : { ORG_SANDBOX: sandbox }) },
        stdout: "pipe",
        stderr: "pipe",
      });
      const reader = child.stdout.getReader();
      const first = await reader.read();
      reader.releaseLock();
      child.kill("SIGTERM");
      const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      return { stdout: new TextDecoder().decode(first.value ?? new Uint8Array()), stderr, code };
    };
    const refused = await run([], "off");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("ORG_SANDBOX=off is set");
    expect(refused.stderr).toContain("--unsafe-no-sandbox");
    const alone = await run(["--unsafe-no-sandbox"], undefined);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--unsafe-no-sandbox only confirms ORG_SANDBOX=off");
    const both = await run(["--unsafe-no-sandbox"], "off");
    expect(both.stdout).toContain("org serve listening on");
    expect(both.stderr).toContain("UNSANDBOXED");
    // instance start, which runs serve in tmux, refuses the same before it starts anything.
    const { ORG_SANDBOX: _unset, ...env } = process.env;
    const instance = Bun.spawn(orgCommand(["instance", "start", "current"]), {
      env: { ...env, ORG_SANDBOX: "off", ORG_TMUX_SESSION: "org-never-started" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [instanceErr, instanceCode] = await Promise.all([new Response(instance.stderr).text(), instance.exited]);
    expect(instanceCode).toBe(2);
    expect(instanceErr).toContain("ORG_SANDBOX=off is set");
    expect(instanceErr).toContain("--unsafe-no-sandbox");
  });

  test("refuses --host 0.0.0.0 without ORG_API_TOKEN, saying how to fix it", async () => {
    const { ORG_API_TOKEN: _unset, ...env } = process.env;
    const serve = Bun.spawn(orgCommand(["serve", "--host", "0.0.0.0", "--port", "0", "--workspace", workspace]), {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await serve.exited).toBe(1);
    const stderr = await new Response(serve.stderr).text();
    expect(stderr).toContain("refusing to listen on 0.0.0.0 without a token");
    expect(stderr).not.toContain("    at ");
  });
});
