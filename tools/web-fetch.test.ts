import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_NETWORK, type NetworkSettings } from "../config/network-settings.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { refusedAddressReason } from "../security/public-address.ts";
import { runTool, toolSet, type ToolResult } from "./define-tool.ts";
import type { Resolver } from "./public-http-request.ts";
import { type WebFetchOptions, webFetchTool } from "./web-fetch.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { sh } from "./sh.ts";

type Reply = (socket: Socket, path: string) => void;

/** A raw HTTP/1.1 server on 127.0.0.1: each path's handler writes whatever bytes it likes. */
function rawServer(routes: Record<string, Reply>): Promise<{ server: Server; port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((socket) => {
    let head = "";
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      seen.push(head);
      const path = /^GET (\S+)/.exec(head)?.[1] ?? "";
      const reply = routes[path] ?? ((s: Socket) => s.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"));
      reply(socket, path);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port, seen })));
}

const text =
  (body: string, type = "text/plain; charset=utf-8"): Reply =>
  (socket) =>
    socket.end(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
const redirect =
  (location: string): Reply =>
  (socket) =>
    socket.end(`HTTP/1.1 302 Found\r\nlocation: ${location}\r\ncontent-length: 0\r\n\r\n`);

const bytes =
  (body: Buffer, type: string): Reply =>
  (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ncontent-length: ${body.length}\r\n\r\n`);
    socket.end(body);
  };
const PNG_BYTES = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(120, 7)]);

let local: Awaited<ReturnType<typeof rawServer>>;
const drips: ReturnType<typeof setInterval>[] = [];

beforeAll(async () => {
  local = await rawServer({
    "/hello": text("hello from the web"),
    "/page": text(
      "<html><head><title>A &amp; B</title><script>alert('x')</script></head><body><p>First&nbsp;para</p><style>p{}</style><div>Second &lt;b&gt;</div><!-- hidden --></body></html>",
      "text/html",
    ),
    "/png": text("\x89PNG....", "image/png"),
    "/secret": text("the key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789 ok"),
    "/huge": (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
      const block = "x".repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 200 && !socket.destroyed) {
          sent++;
          if (!socket.write(block)) return void socket.once("drain", pump);
        }
        socket.end();
      };
      pump();
    },
    "/chunked": (socket) =>
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
    "/drip": (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100000\r\n\r\n");
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write("a")), 100);
      drips.push(timer);
    },
    "/drip-head": (socket) => {
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write("X")), 100);
      drips.push(timer);
    },
    "/r0": redirect("/r1"),
    "/r1": redirect("/r2"),
    "/r2": redirect("/r3"),
    "/r3": redirect("/hello"),
    "/to-loopback": redirect("http://127.0.0.2/"),
    "/to-v6-loopback": redirect("http://[::1]/"),
    "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
    "/to-hex": redirect("http://0x7f000002/"),
    "/to-file": redirect("file:///etc/passwd"),
    "/to-private-name": redirect("http://intranet.test/"),
    "/photo.png": bytes(PNG_BYTES, "image/png"),
    "/mislabelled": bytes(PNG_BYTES, "text/plain"),
    "/data.csv": text("name,count\nalpha,1\n", "text/csv"),
    "/gone": (socket) => socket.end("HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\ngone"),
  });
});

afterAll(() => {
  for (const timer of drips) clearInterval(timer);
  local.server.close();
});

function network(overrides: Partial<NetworkSettings> = {}): NetworkSettings {
  return { ...DEFAULT_NETWORK, allowedHosts: ["*"], ...overrides };
}

/** A resolver from a table; counts its calls. */
function tableResolver(table: Record<string, string[] | string[][]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const asked = new Map<string, number>();
  const resolver = (async (hostname: string): Promise<string[]> => {
    calls.push(hostname);
    const answer = table[hostname];
    if (!answer) throw new Error(`ENOTFOUND ${hostname}`);
    const times = asked.get(hostname) ?? 0;
    asked.set(hostname, times + 1);
    // A list of lists answers differently each time (DNS rebinding).
    return Array.isArray(answer[0]) ? ((answer as string[][])[Math.min(times, answer.length - 1)] as string[]) : (answer as string[]);
  }) as unknown as Resolver & { calls: string[] };
  resolver.calls = calls;
  return resolver;
}

/** The tool as tests build it: the local server's port allowed, 127.0.0.1 taken as public (tests only). */
async function fetchWith(url: string, options: Partial<WebFetchOptions> = {}, persona = "agent"): Promise<ToolResult & { audit: AuditEntry[] }> {
  const tool = webFetchTool({
    network: network(),
    resolver: tableResolver({ "public.test": ["127.0.0.1"] }),
    ports: [80, 443, local.port],
    treatAsPublic: new Set(["127.0.0.1"]),
    ...options,
  });
  const audit: AuditEntry[] = [];
  const result = await runTool(
    toolSet([tool]),
    { name: "web_fetch", arguments: { url } },
    { ...testSandboxAccess(), signal: AbortSignal.timeout(30_000), workspaceDir: tmpdir(), persona, audit: { record: (entry) => audit.push(entry) } },
  );
  return { ...result, audit };
}

/** The tool exactly as the room gets it: no test allowances at all. */
async function fetchAsShipped(url: string, settings: Partial<NetworkSettings> = {}, resolver?: Resolver): Promise<ToolResult> {
  const tool = webFetchTool({ network: network(settings), ...(resolver ? { resolver } : {}) });
  return runTool(
    toolSet([tool]),
    { name: "web_fetch", arguments: { url } },
    { ...testSandboxAccess(), signal: AbortSignal.timeout(30_000), workspaceDir: tmpdir() },
  );
}

describe("refusedAddressReason", () => {
  const refused = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.169.254",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "192.0.0.8",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:a9fe:a9fe",
    "::ffff:10.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
    "2002:c0a8:0101::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "febf::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "2001::1",
    "3fff::1",
    "::127.0.0.1",
    "64:ff9b:1::1",
    "100::1",
    "[::1]",
    "not-an-ip",
  ];
  for (const address of refused) test(`refuses ${address}`, () => expect(refusedAddressReason(address)).toBeString());
  const allowed = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "172.32.0.1",
    "100.128.0.1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
  ];
  for (const address of allowed) test(`allows ${address}`, () => expect(refusedAddressReason(address)).toBeUndefined());
});

describe("web_fetch refuses what it must (the tool as shipped, no test allowances)", () => {
  const cases: [string, string, RegExp][] = [
    ["loopback", "http://127.0.0.1/", /loopback/],
    ["a decimal IPv4 spelling", "http://2130706433/", /127\.0\.0\.1.*loopback/],
    ["a hex IPv4 spelling", "http://0x7f.1/", /loopback/],
    ["an octal IPv4 spelling", "http://017700000001/", /loopback/],
    ["a short IPv4 spelling", "http://127.1/", /loopback/],
    ["the IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/", /IPv4-mapped.*loopback/],
    ["the IPv6 loopback", "http://[::1]/", /loopback/],
    ["cloud metadata", "http://169.254.169.254/latest/meta-data/", /link-local/],
    ["metadata in hex IPv4-mapped form", "http://[::ffff:a9fe:a9fe]/", /link-local/],
    ["NAT64 of a private address", "http://[64:ff9b::a00:1]/", /private/],
    ["unique-local IPv6", "http://[fd00::1]/", /unique-local/],
    ["the unspecified address", "http://0.0.0.0/", /0\.0\.0\.0/],
    ["carrier-grade NAT", "http://100.64.1.1/", /RFC 6598/],
    ["broadcast", "http://255.255.255.255/", /reserved/],
    ["userinfo pointing elsewhere", "http://allowed.test@evil.test/", /credentials/],
    ["user and password", "http://user:pw@public.test/", /credentials/],
    ["file:", "file:///etc/passwd", /only http/],
    ["ftp:", "ftp://ftp.example.com/x", /only http/],
    ["data:", "data:text/plain,hello", /only http/],
    ["javascript:", "javascript:alert(1)", /only http/],
    ["a port other than 80 and 443", "http://example.com:8080/", /port 8080/],
    ["not a URL", "not a url", /not a URL/],
  ];
  for (const [name, url, reason] of cases) {
    test(name, async () => {
      const result = await fetchAsShipped(url);
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(reason);
    });
  }

  test("a name that resolves to a private address is refused, whichever of its addresses is private", async () => {
    const resolver = tableResolver({ "intranet.test": ["93.184.216.34", "10.0.0.7"], "localhost.test": ["::1"] });
    expect((await fetchAsShipped("http://intranet.test/", {}, resolver)).output).toMatch(/10\.0\.0\.7.*private/);
    expect((await fetchAsShipped("http://localhost.test/", {}, resolver)).output).toMatch(/::1.*loopback/);
  });

  test("network.allowedHosts: nothing without it, subdomains under *., all under *", async () => {
    const resolver = tableResolver({});
    expect((await fetchAsShipped("http://example.com/", { allowedHosts: [] }, resolver)).output).toMatch(/not in network\.allowedHosts/);
    expect((await fetchAsShipped("http://example.com/", { allowedHosts: ["*.example.com"] }, resolver)).output).toMatch(
      /not in network\.allowedHosts/,
    );
    expect((await fetchAsShipped("http://evil-example.com/", { allowedHosts: ["*.example.com"] }, resolver)).output).toMatch(
      /not in network\.allowedHosts/,
    );
    expect((await fetchAsShipped("http://docs.example.com/", { allowedHosts: ["*.example.com"] }, resolver)).output).toMatch(/does not resolve/);
    expect((await fetchAsShipped("http://anything.test/", { allowedHosts: [], defaultDeny: false }, resolver)).output).toMatch(/does not resolve/);
    expect(resolver.calls).toEqual(["docs.example.com", "anything.test"]);
  });
});

describe("web_fetch against real local servers", () => {
  test("fetches text, with the final URL and status, and audits the call", async () => {
    const result = await fetchWith(`http://public.test:${local.port}/hello`);
    expect(result.ok).toBe(true);
    expect(result.output).toContain("hello from the web");
    expect(result.output).toContain(`URL: http://public.test:${local.port}/hello`);
    expect(result.output).toContain("status: 200");
    expect(result.audit.map((entry) => [entry.tool, entry.persona, entry.ok])).toEqual([["web_fetch", "agent", true]]);
    // The request carried the name, and nothing of the environment.
    const head = local.seen.at(-1) ?? "";
    expect(head).toContain(`Host: public.test:${local.port}`);
    expect(head).not.toMatch(/cookie|authorization|proxy/i);
  });

  test("proxy variables are never used: the request goes straight to the checked address", async () => {
    const proxy = await rawServer({});
    const saved = {
      HTTP_PROXY: process.env.HTTP_PROXY,
      HTTPS_PROXY: process.env.HTTPS_PROXY,
      ALL_PROXY: process.env.ALL_PROXY,
      http_proxy: process.env.http_proxy,
    };
    const proxyUrl = `http://127.0.0.1:${proxy.port}`;
    Object.assign(process.env, { HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, ALL_PROXY: proxyUrl, http_proxy: proxyUrl });
    try {
      const result = await fetchWith(`http://public.test:${local.port}/hello`);
      expect(result.output).toContain("hello from the web");
      expect(proxy.seen).toEqual([]);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      proxy.server.close();
    }
  });

  test("HTML comes back as readable text", async () => {
    const result = await fetchWith(`http://public.test:${local.port}/page`);
    expect(result.output).toContain("A & B");
    expect(result.output).toContain("First para");
    expect(result.output).toContain("Second <b>");
    expect(result.output).not.toContain("alert");
    expect(result.output).not.toContain("hidden");
  });

  test("the text is redacted", async () => {
    const result = await fetchWith(`http://public.test:${local.port}/secret`);
    expect(result.output).not.toContain("sk-ant-api03");
    expect(result.output).toContain("[REDACTED]");
  });

  test("chunked bodies are decoded", async () => {
    expect((await fetchWith(`http://public.test:${local.port}/chunked`)).output).toContain("hello world");
  });

  test("a non-text content type is refused with a clear result", async () => {
    const result = await fetchWith(`http://public.test:${local.port}/png`);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/image\/png, not text/);
  });

  test("a huge body is cut at maxBytes", async () => {
    const result = await fetchWith(`http://public.test:${local.port}/huge`, { network: network({ maxBytes: 4096 }) });
    expect(result.output).toContain("[cut at 4096 bytes]");
    expect((result.data as { text: string }).text.length).toBe(4096);
  });

  test("a slow-drip body and slow-drip headers hit the total timeout", async () => {
    for (const path of ["/drip", "/drip-head"]) {
      const result = await fetchWith(`http://public.test:${local.port}${path}`, { network: network({ timeoutS: 1 }) });
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(/longer than 1 s/);
    }
  });

  test("a TLS handshake that never finishes hits the total timeout", async () => {
    // The raw server waits for an HTTP head that a TLS hello never ends with: the handshake hangs.
    const result = await fetchWith(`https://public.test:${local.port}/hello`, { network: network({ timeoutS: 1 }) });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/longer than 1 s/);
  });

  test("a resolver that never answers is cut by the total timeout too", async () => {
    const hanging: Resolver = () => new Promise(() => {});
    const result = await fetchWith(`http://slow-dns.test:${local.port}/hello`, { resolver: hanging, network: network({ timeoutS: 1 }) });
    expect(result.output).toMatch(/longer than 1 s/);
  });

  test("DNS rebinding finds nothing: one resolution per hop, the connection goes to the checked address", async () => {
    const resolver = tableResolver({ "rebind.test": [["127.0.0.1"], ["169.254.169.254"], ["10.0.0.1"]] });
    const result = await fetchWith(`http://rebind.test:${local.port}/hello`, { resolver });
    expect(result.output).toContain("hello from the web");
    expect(resolver.calls).toEqual(["rebind.test"]);
    // Asked again, the name is now private: refused at the check.
    expect((await fetchWith(`http://rebind.test:${local.port}/hello`, { resolver })).output).toMatch(/169\.254\.169\.254.*link-local/);
  });

  test("redirects are followed, each hop checked, at most 3", async () => {
    const three = await fetchWith(`http://public.test:${local.port}/r1`);
    expect(three.output).toContain("hello from the web");
    expect(three.output).toContain(`URL: http://public.test:${local.port}/hello`);
    const four = await fetchWith(`http://public.test:${local.port}/r0`);
    expect(four.ok).toBe(false);
    expect(four.output).toMatch(/more than 3 redirects/);
  });

  test("redirects to loopback, metadata, other schemes or private names are refused", async () => {
    const resolver = tableResolver({ "public.test": ["127.0.0.1"], "intranet.test": ["192.168.0.10"] });
    const expectations: [string, RegExp][] = [
      ["/to-loopback", /127\.0\.0\.2.*loopback/],
      ["/to-v6-loopback", /::1.*loopback/],
      ["/to-metadata", /link-local/],
      ["/to-hex", /127\.0\.0\.2.*loopback/],
      ["/to-file", /only http/],
      ["/to-private-name", /192\.168\.0\.10.*private/],
    ];
    for (const [path, reason] of expectations) {
      const result = await fetchWith(`http://public.test:${local.port}${path}`, { resolver, ports: [80, local.port] });
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(reason);
    }
  });

  test("a redirect to a host outside allowedHosts is refused", async () => {
    const result = await fetchWith(`http://public.test:${local.port}/to-private-name`, { network: network({ allowedHosts: ["public.test"] }) });
    expect(result.output).toMatch(/intranet\.test is not in network\.allowedHosts/);
  });

  test("per-persona rate limit, counted in a sliding minute", async () => {
    let now = 1_000_000;
    const tool = webFetchTool({
      network: network({ perMinute: 2 }),
      resolver: tableResolver({ "public.test": ["127.0.0.1"] }),
      ports: [local.port],
      treatAsPublic: new Set(["127.0.0.1"]),
      now: () => now,
    });
    const tools = toolSet([tool]);
    const call = (persona: string) =>
      runTool(
        tools,
        { name: "web_fetch", arguments: { url: `http://public.test:${local.port}/hello` } },
        { ...testSandboxAccess(), signal: AbortSignal.timeout(30_000), workspaceDir: tmpdir(), persona },
      );
    expect((await call("agent")).ok).toBe(true);
    expect((await call("agent")).ok).toBe(true);
    const third = await call("agent");
    expect(third.ok).toBe(false);
    expect(third.output).toMatch(/2 fetches a minute per persona; try again in 60 s/);
    expect((await call("other")).ok).toBe(true);
    now += 60_001;
    expect((await call("agent")).ok).toBe(true);
  });
});

describe("web_fetch over https", () => {
  let dir: string;
  let server: TlsServer;
  let port: number;
  let ca: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "org-web-fetch-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=secure.test",
        "-addext",
        "subjectAltName=DNS:secure.test",
      ],
      { stdio: "ignore" },
    );
    ca = readFileSync(join(dir, "cert.pem"), "utf8");
    server = createTlsServer({ key: readFileSync(join(dir, "key.pem")), cert: ca }, (socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nsecure"));
    });
    port = await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("connects to the checked address and checks the certificate for the name", async () => {
    const resolver = tableResolver({ "secure.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });
    const options = { resolver, ports: [port], treatAsPublic: new Set(["127.0.0.1"]), ca };
    const good = await fetchWith(`https://secure.test:${port}/`, options);
    expect(good.output).toContain("secure");
    expect(good.ok).toBe(true);
    const wrongName = await fetchWith(`https://other.test:${port}/`, options);
    expect(wrongName.ok).toBe(false);
    expect(wrongName.output).toMatch(/could not fetch/);
  });
});

describe("web_fetch sends no secret: the same outbound scan as web_request", () => {
  test("a known secret in the query, the path or a subdomain of an allowed host: no name looked up, nothing reaches the server", async () => {
    const fileSecret = "s3cr3t-from-dotenv-Zq81";
    const every = (text: string) => Buffer.from(text).toString("hex").replace(/../g, "%$&");
    const fullwidth = [...fileSecret.toLowerCase()].map((character) => String.fromCharCode(character.charCodeAt(0) + 0xfee0)).join("");
    const resolver = tableResolver({ "public.test": ["127.0.0.1"] });
    const tool = webFetchTool({
      network: network({ allowedHosts: ["public.test", "*.public.test"], perMinute: 100 }),
      resolver,
      ports: [local.port],
      treatAsPublic: new Set(["127.0.0.1"]),
    });
    const fetchKnowing = (url: string) =>
      runTool(
        toolSet([tool]),
        { name: "web_fetch", arguments: { url } },
        { ...testSandboxAccess(), signal: AbortSignal.timeout(30_000), workspaceDir: tmpdir(), persona: "agent", secrets: [fileSecret] },
      );
    const before = local.seen.length;
    const at = (path: string, host = "public.test") => `http://${host}:${local.port}${path}`;
    const urls = [
      at(`/hello?q=${fileSecret}`),
      at(`/hello?q=${every(fileSecret)}`),
      at(`/${every(fileSecret)}`),
      at(`/hello?a=${fileSecret.slice(0, 11)}&b=${fileSecret.slice(11)}`),
      at(`/hello?q=${Buffer.from(fileSecret, "utf16le").toString("base64url")}`),
      at("/hello", `${fileSecret.toLowerCase()}.public.test`),
      at("/hello", `${every(fileSecret.toLowerCase())}.public.test`),
      at("/hello", `${fullwidth}.public.test`),
    ];
    for (const url of urls) {
      const result = await fetchKnowing(url);
      expect([url, result.ok, result.output]).toEqual([
        url,
        false,
        expect.stringMatching(/^Error: not fetched: .* holds what looks like .*; web_fetch never sends a secret out of org/),
      ]);
      expect(result.output).not.toContain(fileSecret);
    }
    expect(local.seen.length).toBe(before);
    expect(resolver.calls).toEqual([]);
    const fine = await fetchKnowing(at("/hello"));
    expect(fine.output).toContain("hello from the web");
    expect(local.seen.length).toBe(before + 1);
  });
});

describe("save_to: a download saved into the session's scratch", () => {
  const workspaces: string[] = [];
  afterAll(() => {
    for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
  });
  function workspace(): string {
    const dir = mkdtempSync(join(tmpdir(), "org-web-save-"));
    workspaces.push(dir);
    return dir;
  }
  async function save(workspaceDir: string, args: Record<string, unknown>, network: Partial<NetworkSettings> = {}): Promise<ToolResult> {
    const tool = webFetchTool({
      network: { ...DEFAULT_NETWORK, allowedHosts: ["*"], ...network },
      ports: [80, 443, local.port],
      treatAsPublic: new Set(["127.0.0.1"]),
    });
    return runTool(
      toolSet([tool, sh]),
      { name: "web_fetch", arguments: args },
      {
        ...testSandboxAccess(),
        signal: AbortSignal.timeout(30_000),
        workspaceDir,
        sessionId: "s1",
        persona: "agent",
        secrets: ["sk-save-secret-0123456789abcdef"],
      },
    );
  }
  const url = (path: string) => `http://127.0.0.1:${local.port}${path}`;

  test("a binary file is saved whole; the result names the path the sandbox sees, its size and its type", async () => {
    const dir = workspace();
    const result = await save(dir, { url: url("/photo.png"), save_to: "downloads/photo.png" });
    expect(result.ok).toBe(true);
    expect(result.output).toContain("to /scratch/downloads/photo.png: 128 bytes, image/png (PNG image)");
    expect(result.data).toMatchObject({ path: "/scratch/downloads/photo.png", bytes: 128, status: 200 });
    expect(readFileSync(join(scratchDirFor({ workspaceDir: dir, sessionId: "s1" }), "downloads", "photo.png")).equals(PNG_BYTES)).toBe(true);
  });

  test("sh in the real sandbox reads the saved file at the path the result gave", async () => {
    const dir = workspace();
    const saved = await save(dir, { url: url("/data.csv"), save_to: "/scratch/data.csv" });
    expect(saved.ok).toBe(true);
    const path = (saved.data as { path: string }).path;
    const read = await runTool(
      toolSet([sh]),
      { name: "sh", arguments: { cmd: `wc -c < ${path}; cat ${path}` } },
      { ...testSandboxAccess(), signal: AbortSignal.timeout(30_000), workspaceDir: dir, sessionId: "s1" },
    );
    expect(read.data).toMatchObject({ exitCode: 0, stdout: "19\nname,count\nalpha,1\n" });
  });

  test("a type the bytes belie is said both ways", async () => {
    const result = await save(workspace(), { url: url("/mislabelled"), save_to: "x.txt" });
    expect(result.output).toContain("text/plain as declared, but its bytes look like PNG image (image/png)");
  });

  test("an existing file is kept unless overwrite is true", async () => {
    const dir = workspace();
    expect((await save(dir, { url: url("/data.csv"), save_to: "f" })).ok).toBe(true);
    const again = await save(dir, { url: url("/photo.png"), save_to: "f" });
    expect(again.ok).toBe(false);
    expect(again.output).toContain("exists already; pick another name, or call again with overwrite: true");
    const file = join(scratchDirFor({ workspaceDir: dir, sessionId: "s1" }), "f");
    expect(readFileSync(file, "utf8")).toBe("name,count\nalpha,1\n");
    expect((await save(dir, { url: url("/photo.png"), save_to: "f", overwrite: true })).ok).toBe(true);
    expect(readFileSync(file).equals(PNG_BYTES)).toBe(true);
  });

  test("paths out of scratch are refused before anything is fetched", async () => {
    const dir = workspace();
    const before = local.seen.length;
    for (const save_to of ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "/scratchy/x", "a\nb"]) {
      const result = await save(dir, { url: url("/data.csv"), save_to });
      expect(result.ok).toBe(false);
      expect(result.output).toStartWith("Error: nothing was fetched:");
    }
    expect(local.seen.length).toBe(before);
    expect(existsSync(join(dir, ".org", "scratch", "escape.txt"))).toBe(false);
  });

  test("a symbolic link on the way, as a folder or as the file, is not followed", async () => {
    const dir = workspace();
    const outside = workspace();
    const scratch = scratchDirFor({ workspaceDir: dir, sessionId: "s1" });
    // Scratch made as org makes it (as root, the sandbox's uid owns it); the links then planted as a command would.
    expect((await save(dir, { url: url("/data.csv"), save_to: "first.csv" })).ok).toBe(true);
    symlinkSync(outside, join(scratch, "out"));
    symlinkSync(join(outside, "target"), join(scratch, "file"));
    for (const [save_to, overwrite] of [
      ["out/x.csv", false],
      ["file", false],
      ["file", true],
    ] as const) {
      const result = await save(dir, { url: url("/data.csv"), save_to, overwrite });
      expect(result.ok).toBe(false);
      expect(result.output).toStartWith("Error: not saved:");
    }
    expect(readdirSync(outside)).toEqual([]);
  });

  test("a download larger than network.saveMaxBytes, or an HTTP error, is not saved", async () => {
    const dir = workspace();
    const big = await save(dir, { url: url("/huge"), save_to: "big" }, { saveMaxBytes: 4096 });
    expect(big.ok).toBe(false);
    expect(big.output).toContain("larger than network.saveMaxBytes (4096 bytes); nothing was saved");
    const missing = await save(dir, { url: url("/gone"), save_to: "gone" });
    expect(missing.output).toContain("answered HTTP 404; nothing was saved");
    const scratch = scratchDirFor({ workspaceDir: dir, sessionId: "s1" });
    expect(existsSync(join(scratch, "big")) || existsSync(join(scratch, "gone"))).toBe(false);
  });

  test("the outbound scan still stands: a URL carrying a secret is not sent", async () => {
    const before = local.seen.length;
    const result = await save(workspace(), { url: url("/data.csv?k=sk-save-secret-0123456789abcdef"), save_to: "k" });
    expect(result.ok).toBe(false);
    expect(result.output).toContain("not fetched");
    expect(local.seen.length).toBe(before);
  });
});
