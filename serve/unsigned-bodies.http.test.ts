import { afterAll, describe, expect, test } from "bun:test";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { digestSignatureHeaders, signatureHeaders } from "./request-signature.ts";
import { startServe } from "./start-serve.ts";
import { clientKey, LOOPBACK_CLIENT, UnsignedBodies } from "./unsigned-bodies.ts";

// Issue 74, item 7: with ORG_API_HMAC_SECRET set, a request anybody can send (a made-up signature) must not make serve
// hold its body: what the headers tell is checked first, a body has a deadline, one client has few bodies in flight.
const checkout = tempGitRepo("org-serve-unsigned-");
afterAll(() => checkout[Symbol.dispose]());
const SECRET = "hmac-secret-for-unsigned-bodies-42";
const SCRIPT = { rules: [{ reply: { text: "ok" } }] };
/** What no wait of these tests may pass, whatever the machine's load: far above every deadline set here. */
const UPPER_BOUND_MS = 20_000;

type RawRequest = {
  /** The first line of the answer once one came (at most UPPER_BOUND_MS). */
  statusLine(): Promise<string>;
  /** Resolves when the server closed the connection (at most UPPER_BOUND_MS). */
  closed(): Promise<boolean>;
  write(text: string): void;
  terminate(): void;
};

/** A request written by hand on a socket to 127.0.0.1: its head, then only what the test writes. */
async function openRaw(port: number, head: string): Promise<RawRequest> {
  let received = "";
  const ended = Promise.withResolvers<boolean>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, data) {
        received += data.toString("latin1");
      },
      close: () => ended.resolve(true),
      error: () => ended.resolve(true),
    },
  });
  socket.write(head);
  const bounded = <T>(promise: Promise<T>, fallback: T) => Promise.race([promise, Bun.sleep(UPPER_BOUND_MS).then(() => fallback)]);
  return {
    async statusLine() {
      await bounded(
        waitUntil("an answer", () => received.includes("\r\n"), UPPER_BOUND_MS).catch(() => {}),
        undefined,
      );
      return received.split("\r\n")[0] ?? "";
    },
    closed: () => bounded(ended.promise, false),
    write: (text) => socket.write(text),
    terminate: () => socket.terminate(),
  };
}

function head(port: number, headers: Record<string, string>, contentLength = 1000): string {
  const lines = [
    "POST /v1/jobs HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Content-Type: application/json",
    `Content-Length: ${contentLength}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

const MADE_UP = { "x-org-timestamp": () => String(Math.floor(Date.now() / 1000)), "x-org-signature": `sha256=${"ab".repeat(32)}` };
const madeUp = () => ({ "x-org-timestamp": MADE_UP["x-org-timestamp"](), "x-org-signature": MADE_UP["x-org-signature"] });

async function signedJob(url: string, text: string): Promise<Response> {
  const body = JSON.stringify({ text });
  return fetch(`${url}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...signatureHeaders(SECRET, "POST", "/v1/jobs", body) },
    body,
  });
}

describe("serve holds no body nobody signed (ORG_API_HMAC_SECRET)", () => {
  test("a made-up signature whose body never completes, or trickles, is answered 408 and closed at the body's deadline", async () => {
    await using fixture = await serveFixture({
      script: SCRIPT,
      checkoutDir: checkout.dir,
      handlerOptions: { hmac: { secret: SECRET, ttlS: 60, bodyTimeoutS: 0.5, bodiesPerClient: 8 } },
    });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    try {
      const stalled = await openRaw(server.port, `${head(server.port, madeUp())}{"text":"half`);
      const trickle = await openRaw(server.port, head(server.port, madeUp()));
      // A byte every 50 ms keeps a socket from ever going idle; the deadline counts from the request, not the last byte.
      const dripping = setInterval(() => trickle.write("x"), 50);
      try {
        for (const raw of [stalled, trickle]) {
          expect(await raw.statusLine()).toBe("HTTP/1.1 408 Request Timeout");
          expect(await raw.closed()).toBe(true);
        }
      } finally {
        clearInterval(dripping);
        stalled.terminate();
        trickle.terminate();
      }
      expect(fixture.handler.authRequired).toBe(true);
    } finally {
      await server.stop(true);
    }
  });

  test("headers alone decide: a bad timestamp, a malformed signature, a replay or a body too large is refused with no body sent", async () => {
    await using fixture = await serveFixture({
      script: SCRIPT,
      checkoutDir: checkout.dir,
      handlerOptions: { hmac: { secret: SECRET, ttlS: 60, bodyTimeoutS: 60, bodiesPerClient: 2 } },
    });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    try {
      const now = Math.floor(Date.now() / 1000);
      const signed = await signedJob(server.url, "first");
      expect(signed.status).toBe(202);
      const body = JSON.stringify({ text: "again" });
      const replayed = signatureHeaders(SECRET, "POST", "/v1/jobs", body, Date.now() + 1000);
      await fetch(`${server.url}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json", ...replayed }, body });
      const cases: [string, Record<string, string>, number, RegExp][] = [
        ["stale", { "x-org-timestamp": String(now - 3600), "x-org-signature": MADE_UP["x-org-signature"] }, 1000, / 401 /],
        ["future", { "x-org-timestamp": String(now + 3600), "x-org-signature": MADE_UP["x-org-signature"] }, 1000, / 401 /],
        ["not a number", { "x-org-timestamp": "soon", "x-org-signature": MADE_UP["x-org-signature"] }, 1000, / 401 /],
        ["short", { "x-org-timestamp": String(now), "x-org-signature": "sha256=abcd" }, 1000, / 401 /],
        ["not hex", { "x-org-timestamp": String(now), "x-org-signature": `sha256=${"zz".repeat(32)}` }, 1000, / 401 /],
        ["no scheme", { "x-org-timestamp": String(now), "x-org-signature": "ab".repeat(32) }, 1000, / 401 /],
        ["a replay", replayed, Buffer.byteLength(body), / 401 /],
        ["too large", madeUp(), 10_000_000, / 413 /],
      ];
      for (const [what, headers, length, status] of cases) {
        const raw = await openRaw(server.port, head(server.port, headers, length));
        try {
          expect(`${what}: ${await raw.statusLine()}`).toMatch(new RegExp(`^${what}: HTTP/1.1${status.source}`));
          expect(await raw.closed()).toBe(true);
        } finally {
          raw.terminate();
        }
      }
    } finally {
      await server.stop(true);
    }
  });

  test("past the per-client limit of bodies in flight the next is 429 at once; places come back when connections end", async () => {
    await using fixture = await serveFixture({
      script: SCRIPT,
      checkoutDir: checkout.dir,
      handlerOptions: { hmac: { secret: SECRET, ttlS: 60, bodyTimeoutS: 60, bodiesPerClient: 2 } },
    });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    const held: RawRequest[] = [];
    try {
      const writing = async () => {
        const raw = await openRaw(server.port, `${head(server.port, madeUp())}{"text":"never finished`);
        held.push(raw);
        return raw;
      };
      await writing();
      await writing();
      // The two are in flight once a third is refused; keep trying until they are (each try is refused or held too).
      let refused: RawRequest | undefined;
      await waitUntil(
        "a request past the limit to be refused",
        async () => {
          const next = await writing();
          const line = await Promise.race([next.statusLine(), Bun.sleep(300).then(() => "")]);
          if (line === "") return false;
          refused = next;
          return true;
        },
        UPPER_BOUND_MS,
      );
      // Two held, then one refused; a try whose answer came later than 300 ms is held too (a slow machine), never fewer.
      expect(held.length).toBeGreaterThanOrEqual(3);
      expect(await refused?.statusLine()).toBe("HTTP/1.1 429 Too Many Requests");
      expect(await refused?.closed()).toBe(true);
      // A correctly signed request is refused too while the client's places are taken…
      expect((await signedJob(server.url, "while full")).status).toBe(429);
      for (const raw of held) raw.terminate();
      // …and works once the connections that held them are gone: nothing of theirs is kept.
      let status = 0;
      await waitUntil(
        "the held places to come back",
        async () => {
          status = (await signedJob(server.url, "after")).status;
          return status === 202;
        },
        UPPER_BOUND_MS,
      );
      expect(status).toBe(202);
    } finally {
      for (const raw of held) raw.terminate();
      await server.stop(true);
    }
  });

  test("while forged bodies hold every place of 127.0.0.1, a signed GET and a POST signed by its digest still pass", async () => {
    await using fixture = await serveFixture({
      script: SCRIPT,
      checkoutDir: checkout.dir,
      handlerOptions: { hmac: { secret: SECRET, ttlS: 60, bodyTimeoutS: 60, bodiesPerClient: 8 } },
    });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    const held: RawRequest[] = [];
    try {
      // Stalled bodies with made-up signatures until the next is refused: all eight places are then taken.
      held.push(...(await Promise.all(Array.from({ length: 8 }, () => openRaw(server.port, `${head(server.port, madeUp(), 50)}{`)))));
      await waitUntil(
        "the client's places to be taken",
        async () => {
          const next = await openRaw(server.port, `${head(server.port, madeUp(), 50)}{`);
          held.push(next);
          return (await Promise.race([next.statusLine(), Bun.sleep(300).then(() => "")])).includes(" 429 ");
        },
        UPPER_BOUND_MS,
      );
      expect(held.length).toBeGreaterThanOrEqual(9);
      expect((await signedJob(server.url, "a body signed with the request")).status).toBe(429);
      const get = await fetch(`${server.url}/v1/tools`, { headers: signatureHeaders(SECRET, "GET", "/v1/tools", "") });
      expect(get.status).toBe(200);
      const body = JSON.stringify({ text: "signed by its digest" });
      const signed = digestSignatureHeaders(SECRET, "POST", "/v1/jobs", body);
      const post = await fetch(`${server.url}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json", ...signed }, body });
      expect(post.status).toBe(202);
      const other = JSON.stringify({ text: "not what was signed" });
      const resigned = digestSignatureHeaders(SECRET, "POST", "/v1/jobs", body, Date.now() + 1000);
      const swapped = await fetch(`${server.url}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json", ...resigned },
        body: other,
      });
      expect(swapped.status).toBe(401);
      expect(await swapped.text()).toContain("x-org-content-sha256");
    } finally {
      for (const raw of held) raw.terminate();
      await server.stop(true);
    }
  });

  test("one signed POST /v1/jobs sent 5 times at once over its own sockets makes one job; the others are replays", async () => {
    await using fixture = await serveFixture({
      script: SCRIPT,
      checkoutDir: checkout.dir,
      handlerOptions: { hmac: { secret: SECRET, ttlS: 60, bodyTimeoutS: 60, bodiesPerClient: 8 } },
    });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    const body = JSON.stringify({ text: "once" });
    const signed = signatureHeaders(SECRET, "POST", "/v1/jobs", body);
    const copies = await Promise.all(
      Array.from({ length: 5 }, () => openRaw(server.port, `${head(server.port, signed, Buffer.byteLength(body))}${body.slice(0, 4)}`)),
    );
    try {
      // The heads are read while the bodies wait; however the machine schedules it, no more than one may pass.
      await Bun.sleep(200);
      for (const copy of copies) copy.write(body.slice(4));
      const lines = await Promise.all(copies.map((copy) => copy.statusLine()));
      expect(lines.filter((line) => line === "HTTP/1.1 202 Accepted")).toHaveLength(1);
      expect(lines.filter((line) => line === "HTTP/1.1 401 Unauthorized")).toHaveLength(4);
    } finally {
      for (const copy of copies) copy.terminate();
      await server.stop(true);
    }
  });
});

describe("UnsignedBodies", () => {
  test("counts per client and in all, and forgets a client whose last body is done", () => {
    const bodies = new UnsignedBodies({ perClient: 2, total: 3 });
    const a1 = bodies.enter("10.0.0.1");
    const a2 = bodies.enter("10.0.0.1");
    expect(() => bodies.enter("10.0.0.1")).toThrow(/ORG_API_HMAC_BODIES_PER_CLIENT/);
    const b1 = bodies.enter("::ffff:10.0.0.2");
    expect(() => bodies.enter("10.0.0.3")).toThrow(/retry in a second/);
    a1();
    a1(); // given back once only
    expect(bodies.size).toEqual({ bodies: 2, clients: 2 });
    a2();
    b1();
    expect(bodies.size).toEqual({ bodies: 0, clients: 0 });
  });

  test("an IPv6 client is one /64; an IPv4-mapped one is its IPv4 address", () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe(clientKey("2001:0db8:0001:0002:ffff:1:2:3"));
    expect(clientKey("2001:db8:1:2::1")).not.toBe(clientKey("2001:db8:1:3::1"));
    expect(clientKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(clientKey("fe80::1%eth0")).toBe(clientKey("fe80::2"));
    expect(clientKey(undefined)).toBe(clientKey(""));
  });

  test("every loopback address is one client: 64 addresses of 127/8 take one client's places, not the global bound", () => {
    for (const address of ["127.0.0.1", "127.0.0.65", "127.255.1.2", "::ffff:127.0.0.2", "::1", "0:0:0:0:0:0:0:1"]) {
      expect(clientKey(address)).toBe(LOOPBACK_CLIENT);
    }
    expect(clientKey("::2")).not.toBe(LOOPBACK_CLIENT);
    expect(clientKey("128.0.0.1")).not.toBe(LOOPBACK_CLIENT);
    const bodies = new UnsignedBodies({ perClient: 8, total: 256 });
    let refused = 0;
    for (let index = 0; index < 64; index++) {
      for (let place = 0; place < 8; place++) {
        try {
          bodies.enter(`127.0.0.${index + 2}`);
        } catch {
          refused += 1;
        }
      }
    }
    expect(bodies.size).toEqual({ bodies: 8, clients: 1 });
    expect(refused).toBe(64 * 8 - 8);
    // A remote client still finds its places.
    expect(() => bodies.enter("203.0.113.7")).not.toThrow();
  });
});
