import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { WebSettings } from "../config/web-settings.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { type CallContext, type PersonQuestion, runTool, toolSet, type ToolResult } from "./define-tool.ts";
import { type WebRequestOptions, webRequestTool } from "./web-request.ts";

type Seen = { method: string; path: string; headers: Record<string, string>; body: string };

/** A web API on 127.0.0.1 that records every request it gets. */
let api: { server: ReturnType<typeof Bun.serve>; seen: Seen[] };

beforeAll(() => {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      seen.push({
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers: Object.fromEntries(request.headers),
        body: await request.text(),
      });
      if (url.pathname === "/moved") return new Response(null, { status: 307, headers: { location: "/elsewhere" } });
      if (url.pathname === "/echo-key") return Response.json({ leaked: "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789" });
      if (url.pathname === "/binary") return new Response(new Uint8Array([0, 1, 2, 3]), { headers: { "content-type": "image/png" } });
      return Response.json({ created: true, number: 7 }, { status: 201 });
    },
  });
  api = { server, seen };
});
afterAll(() => api.server.stop(true));

const settings = (overrides: Partial<WebSettings> = {}) => ({ ...WebSettings.parse({}), requestHosts: ["api.test"], ...overrides });
const resolver = async (host: string) => {
  const table: Record<string, string[]> = { "api.test": ["127.0.0.1"], "other.test": ["127.0.0.1"], "intranet.test": ["10.0.0.7"] };
  const found = table[host];
  if (!found) throw new Error(`ENOTFOUND ${host}`);
  return found;
};

/** The tool as tests build it: the API's port allowed, 127.0.0.1 taken as public (tests only). */
function tool(overrides: Partial<WebRequestOptions> = {}) {
  return webRequestTool({ web: settings(), resolver, ports: [api.server.port ?? 0], treatAsPublic: new Set(["127.0.0.1"]), ...overrides });
}

async function send(
  args: Record<string, unknown>,
  options: { tool?: ReturnType<typeof tool>; context?: Partial<CallContext> } = {},
): Promise<ToolResult & { audit: AuditEntry[] }> {
  const audit: AuditEntry[] = [];
  const result = await runTool(
    toolSet([options.tool ?? tool()]),
    { name: "web_request", arguments: args },
    {
      ...testSandboxAccess(),
      signal: AbortSignal.timeout(30_000),
      workspaceDir: tmpdir(),
      sessionId: "s1",
      persona: "agent",
      audit: { record: (entry) => audit.push(entry) },
      ...options.context,
    },
  );
  return { ...result, audit };
}

const url = (host: string, path = "/issues") => `http://${host}:${api.server.port}${path}`;
const seenSince = (count: number) => api.seen.slice(count);

describe("web_request", () => {
  test("a listed host gets the request at once: JSON body, status and answer back; the audit line has no body or query", async () => {
    const before = api.seen.length;
    const result = await send({ method: "POST", url: url("api.test", "/issues?draft=1"), json: { title: "it breaks", body: "steps…" } });
    expect(result.ok).toBe(true);
    expect(result.output).toContain("status: 201");
    expect(result.output).toContain('"number":7');
    const [seen] = seenSince(before);
    expect(seen).toMatchObject({ method: "POST", path: "/issues?draft=1", body: '{"title":"it breaks","body":"steps…"}' });
    expect(seen?.headers["content-type"]).toBe("application/json");
    const [line] = result.audit;
    expect(line?.request).toEqual({ method: "POST", host: "api.test", path: "/issues", status: 201, sentBytes: 39, receivedBytes: 27 });
    expect(JSON.stringify(line)).not.toContain("it breaks");
    expect(JSON.stringify(line)).not.toContain("draft");
  });

  test("another host is asked first, with the method, the URL and the body's first lines; no means nothing is sent", async () => {
    const questions: PersonQuestion[] = [];
    const before = api.seen.length;
    const lines = Array.from({ length: 30 }, (_, index) => `line ${index + 1}`).join("\n");
    const denied = await send(
      { method: "PUT", url: url("other.test", "/doc"), body: lines },
      {
        context: {
          callId: "call_9",
          askPerson: async (question) => {
            questions.push(question);
            return false;
          },
        },
      },
    );
    expect(denied.ok).toBe(false);
    expect(denied.output).toContain("the user said no to sending it to other.test");
    expect(seenSince(before)).toEqual([]);
    const [question] = questions;
    expect(question?.call).toEqual({ id: "call_9", name: "web_request", arguments: { method: "PUT", url: url("other.test", "/doc") } });
    expect(question?.preview.split("\n").slice(0, 11)).toEqual([
      `PUT ${url("other.test", "/doc")}`,
      `Host: other.test:${api.server.port}`,
      "User-Agent: org-web-request/1",
      "Accept: */*",
      "Accept-Encoding: identity",
      "Connection: close",
      "Content-Type: text/plain; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(lines)}`,
      "",
      "line 1",
      "line 2",
    ]);
    expect(question?.preview).toContain("… (18 more lines)");
    expect(question?.preview).not.toContain("line 13");
    expect(question?.always).toEqual({ key: "web_request\u0000other.test", label: "web_request to other.test" });
    expect(denied.audit[0]?.request).toEqual({ method: "PUT", host: "other.test", path: "/doc", sentBytes: 0, receivedBytes: 0 });

    const allowed = await send({ method: "DELETE", url: url("other.test", "/doc/1") }, { context: { askPerson: async () => true } });
    expect(allowed.ok).toBe(true);
    expect(seenSince(before).map((seen) => `${seen.method} ${seen.path}`)).toEqual(["DELETE /doc/1"]);
  });

  test("with nobody to ask, another host is refused; a call the person already approved is not asked again", async () => {
    const before = api.seen.length;
    const nobody = await send({ method: "POST", url: url("other.test"), form: { a: "1" } });
    expect(nobody.output).toContain("other.test is not in web.requestHosts of org.config.json, and nobody can be asked here");
    expect(seenSince(before)).toEqual([]);
    let asked = 0;
    const approved = await send(
      { method: "POST", url: url("other.test"), form: { a: "1", b: "two words" } },
      {
        context: {
          approvedByPerson: true,
          askPerson: async () => {
            asked++;
            return false;
          },
        },
      },
    );
    expect(approved.ok).toBe(true);
    expect(asked).toBe(0);
    expect(seenSince(before)[0]).toMatchObject({ body: "a=1&b=two+words", headers: { "content-type": "application/x-www-form-urlencoded" } });
  });

  test("private addresses are refused whatever is listed, and an address in the URL before the person is asked", async () => {
    let asked = 0;
    const ask = {
      askPerson: async () => {
        asked++;
        return true;
      },
    };
    const before = api.seen.length;
    const shipped = tool({ web: settings({ requestHosts: ["*"] }), treatAsPublic: new Set() });
    const loopback = await send({ method: "POST", url: url("127.0.0.1"), json: {} }, { tool: shipped, context: ask });
    expect(loopback.output).toMatch(/127\.0\.0\.1 is loopback; web_request reaches public addresses only/);
    const metadata = await send(
      { method: "POST", url: `http://169.254.169.254:${api.server.port}/latest/`, json: {} },
      { tool: shipped, context: ask },
    );
    expect(metadata.output).toContain("link-local");
    const byName = await send({ method: "POST", url: `http://intranet.test:${api.server.port}/`, json: {} }, { tool: shipped });
    expect(byName.output).toMatch(/intranet\.test resolves to 10\.0\.0\.7, which is private/);
    const resolvedLoopback = await send({ method: "POST", url: url("api.test"), json: {} }, { tool: shipped });
    expect(resolvedLoopback.output).toContain("loopback");
    expect(asked).toBe(0);
    expect(seenSince(before)).toEqual([]);
  });

  test("a redirect after a POST is reported, never followed", async () => {
    const before = api.seen.length;
    const result = await send({ method: "POST", url: url("api.test", "/moved"), json: { a: 1 } });
    expect(result.output).toContain("status: 307");
    expect(result.output).toContain("redirect to /elsewhere not followed");
    expect(result.data).toMatchObject({ status: 307, redirectNotFollowed: "/elsewhere" });
    expect(seenSince(before).map((seen) => seen.path)).toEqual(["/moved"]);
  });

  test("a secret in the body, a header or the URL is refused before anything is sent, encoded forms too", async () => {
    const fileSecret = "s3cr3t-from-dotenv-Zq81";
    const context = { secrets: [fileSecret], askPerson: async () => true };
    const before = api.seen.length;
    const cases = [
      { method: "POST", url: url("api.test"), json: { note: "my key is ghp_abcdefghijklmnopqrstuvwxyz0123456789" } },
      { method: "POST", url: url("api.test"), body: Buffer.from(fileSecret).toString("base64") },
      { method: "POST", url: url("api.test"), body: `password=${encodeURIComponent(fileSecret)}` },
      { method: "POST", url: url("api.test"), headers: { Authorization: "Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0" }, json: {} },
      { method: "POST", url: url("api.test", `/x?token=${fileSecret}`), json: {} },
      { method: "PATCH", url: url("other.test"), form: { k: fileSecret } },
    ];
    for (const args of cases) {
      const result = await send(args, { context });
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(/holds what looks like .*; web_request never sends a secret out of org/);
      expect(result.output).not.toContain(fileSecret);
    }
    expect(seenSince(before)).toEqual([]);
  });

  test("the answer passes the redactor; a binary answer is described, not shown", async () => {
    const echoed = await send({ method: "POST", url: url("api.test", "/echo-key"), json: {} });
    expect(echoed.output).toContain("[REDACTED]");
    expect(echoed.output).not.toContain("abcdefghijklmnopqrstuvwxyz0123456789");
    const binary = await send({ method: "POST", url: url("api.test", "/binary"), json: {} });
    expect(binary.output).toContain("(4 bytes of image/png: not text, not shown)");
  });

  test("headers that would reframe the request and bodies past the bound are refused", async () => {
    const before = api.seen.length;
    const split = await send({ method: "POST", url: url("api.test"), headers: { "X-A": "1\r\nX-Injected: 2" }, json: {} });
    expect(split.output).toContain("the X-A header's value holds U+000D; a header value is visible ASCII");
    const host = await send({ method: "POST", url: url("api.test"), headers: { Host: "evil.test" }, json: {} });
    expect(host.output).toContain("the Host header is set by web_request itself");
    const two = await send({ method: "POST", url: url("api.test"), json: {}, body: "x" });
    expect(two.output).toContain("at most one of json, form and body");
    const big = await send(
      { method: "POST", url: url("api.test"), body: "x".repeat(2_000) },
      { tool: tool({ web: settings({ maxRequestBytes: 1_000 }) }) },
    );
    expect(big.output).toContain("more than web.maxRequestBytes (1000)");
    const get = await send({ method: "GET", url: url("api.test") });
    expect(get.output).toContain("invalid arguments for web_request");
    expect(seenSince(before)).toEqual([]);
  });

  test("the rate limit: 10 a minute by default, counted per session in a sliding minute", async () => {
    let now = 5_000_000;
    const limited = tool({ now: () => now });
    const call = (sessionId: string) => send({ method: "POST", url: url("api.test"), json: {} }, { tool: limited, context: { sessionId } });
    for (let index = 0; index < 10; index++) expect((await call("s1")).ok).toBe(true);
    const eleventh = await call("s1");
    expect(eleventh.ok).toBe(false);
    expect(eleventh.output).toContain("web_request is limited to 10 requests a minute; try again in 60 s");
    expect((await call("s2")).ok).toBe(true);
    now += 60_001;
    expect((await call("s1")).ok).toBe(true);
  });
});

/** A raw HTTP/1.1 server on 127.0.0.1: counts its connections and keeps every byte it was sent, as sent. */
async function rawApi() {
  const received: Buffer[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.on("error", () => {});
    let bytes = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const end = bytes.indexOf("\r\n\r\n");
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(bytes.subarray(0, end).toString("latin1"))?.[1] ?? 0);
      if (bytes.length < end + 4 + length) return;
      received.push(bytes);
      socket.end('HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    received,
    connections: () => connections,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("web_request writes only what it shows, and only ASCII", () => {
  test("a header name or value past printable ASCII is refused as a result; the server gets no connection", async () => {
    await using raw = await rawApi();
    const rawTool = tool({ ports: [raw.port], web: settings({ perMinute: 100 }) });
    const at = `http://api.test:${raw.port}/issues`;
    // Each one, written as latin1, would be another request or another header on the wire.
    const smuggled = "1\u010d\u010aContent-Length: 0\u010d\u010a\u010d\u010aDELETE /repos/x HTTP/1.1\u010d\u010aHost: api.test";
    const shifted = [..."sk-secret-value-1234"].map((character) => String.fromCharCode(character.charCodeAt(0) + 0x100)).join("");
    const cases: [Record<string, string>, string][] = [
      [{ "X-A": smuggled }, "the X-A header's value holds U+010D"],
      [{ "X-B": "1\u010d\u010aHost: evil.test" }, "holds U+010D"],
      [{ "X-Key": shifted }, `holds U+${(0x173).toString(16).toUpperCase().padStart(4, "0")}`],
      [{ "X-C": "tab\tok but \u0000 not" }, "holds U+0000"],
      [{ "X-D": "del \u007f" }, "holds U+007F"],
      [{ "X-E": "caf\u00e9" }, "holds U+00E9"],
      [{ "X-\u0130d": "1" }, 'the header name "X-\u0130d" holds U+0130'],
      [{ "X A": "1" }, "holds U+0020; a header name is letters, digits"],
      [{ "X-A:b": "1" }, "holds U+003A"],
      [{ "\u010dX": "1" }, "holds U+010D"],
    ];
    for (const [headers, why] of cases) {
      const result = await send({ method: "POST", url: at, headers, json: {} }, { tool: rawTool });
      expect([JSON.stringify(headers), result.ok, result.output]).toEqual([JSON.stringify(headers), false, expect.stringContaining(why)]);
      expect(result.output).toContain("Error: not sent:");
    }
    expect(raw.connections()).toBe(0);
    // A tab and every printable character are a value's; that one is sent, byte for byte.
    const printable = Array.from({ length: 0x7f - 0x20 }, (_, index) => String.fromCharCode(0x20 + index)).join("");
    const fine = await send({ method: "POST", url: at, headers: { "X-All": `a\t${printable.trim()}` }, json: {} }, { tool: rawTool });
    expect(fine.ok).toBe(true);
    expect(raw.received[0]?.toString("latin1")).toContain(`\r\nX-All: a\t${printable.trim()}\r\n`);
  });

  test("the question lists every header sent, name and value, in order; a body's escape sequences are shown, not acted on", async () => {
    await using raw = await rawApi();
    const questions: PersonQuestion[] = [];
    const result = await send(
      {
        method: "PATCH",
        url: `http://other.test:${raw.port}/doc?draft=1`,
        headers: { Accept: "application/json", "X-Trace": "a b\tc" },
        body: "\u001b]0;pwned\u0007\u001b[2Jhello",
      },
      {
        tool: tool({ ports: [raw.port] }),
        context: {
          askPerson: async (question) => {
            questions.push(question);
            return true;
          },
        },
      },
    );
    expect(result.ok).toBe(true);
    const preview = questions[0]?.preview ?? "";
    const [, shownHead = "", shownBody = ""] = /^([^\n]*\n[\s\S]*?)\n\n([\s\S]*)$/.exec(preview) ?? [];
    const sent = raw.received[0]?.toString("latin1") ?? "";
    const [sentHead = "", sentBody = ""] = sent.split("\r\n\r\n");
    // The request line as shown names the URL; every header line after it is a line of what was written, in order.
    expect(shownHead.split("\n").slice(1)).toEqual(sentHead.split("\r\n").slice(1));
    expect(shownHead.split("\n")).toEqual([
      `PATCH http://other.test:${raw.port}/doc?draft=1`,
      `Host: other.test:${raw.port}`,
      "User-Agent: org-web-request/1",
      "Accept-Encoding: identity",
      "Connection: close",
      "Accept: application/json",
      "X-Trace: a b\tc",
      "Content-Type: text/plain; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(sentBody)}`,
    ]);
    expect(shownBody).toBe("\\x1b]0;pwned\\x07\\x1b[2Jhello");
    expect(shownBody).not.toContain("\u001b");
  });
});

describe("web_request scans what it sends, as it is sent and as a server decodes it", () => {
  test("a known secret percent-encoded, in base64 of UTF-16, in halves apart, or in a decoded subdomain: nothing reaches the server", async () => {
    await using raw = await rawApi();
    const resolved: string[] = [];
    const counting = async (host: string) => {
      resolved.push(host);
      return ["127.0.0.1"];
    };
    const scanning = tool({ ports: [raw.port], resolver: counting, web: settings({ requestHosts: ["api.test", "*.api.test"], perMinute: 100 }) });
    const fileSecret = "s3cr3t-from-dotenv-Zq81";
    const every = (text: string) => Buffer.from(text).toString("hex").replace(/../g, "%$&");
    const [head = "", tail = ""] = [fileSecret.slice(0, 11), fileSecret.slice(11)];
    const at = (path: string, host = "api.test") => `http://${host}:${raw.port}${path}`;
    const fullwidth = [...fileSecret.toLowerCase()].map((character) => String.fromCharCode(character.charCodeAt(0) + 0xfee0)).join("");
    const form = { "Content-Type": "application/x-www-form-urlencoded" };
    const cases: Record<string, unknown>[] = [
      { method: "POST", url: at(`/x/${every(fileSecret)}`), json: {} },
      { method: "POST", url: at(`/x?q=${every(fileSecret).toUpperCase()}`), json: {} },
      { method: "POST", url: at("/x"), headers: form, body: `k=${every(fileSecret)}` },
      { method: "POST", url: at("/x"), body: Buffer.from(fileSecret, "utf16le").toString("base64") },
      { method: "POST", url: at("/x"), body: Buffer.from(fileSecret, "utf16le").swap16().toString("base64") },
      { method: "POST", url: at(`/x/${head}`), json: { rest: tail } },
      { method: "POST", url: at("/x"), headers: { "X-A": head, "X-Trace": "7", "X-B": tail }, json: {} },
      { method: "POST", url: at("/x"), json: { [head]: tail } },
      { method: "PUT", url: at("/x", `${every(fileSecret.toLowerCase())}.api.test`), json: {} },
      { method: "PUT", url: at("/x", `${fullwidth}.api.test`), json: {} },
    ];
    for (const args of cases) {
      const result = await send(args, { tool: scanning, context: { secrets: [fileSecret], askPerson: async () => true } });
      expect([JSON.stringify(args), result.ok]).toEqual([JSON.stringify(args), false]);
      expect(result.output).toMatch(/holds what looks like .*; web_request never sends a secret out of org, whole, in pieces or encoded/);
    }
    // Nothing left the machine: no connection, and no name was even looked up.
    expect(raw.connections()).toBe(0);
    expect(resolved).toEqual([]);
    // The same requests without the secret go out (the scan refuses what holds it, not what looks like these).
    const fine = await send(
      { method: "PUT", url: at("/x", "issues.api.test"), json: { title: "ok" } },
      { tool: scanning, context: { secrets: [fileSecret] } },
    );
    expect(fine.ok).toBe(true);
    expect(raw.connections()).toBe(1);
  });
});
