import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { egressRules } from "../config/egress-policy.ts";
import { type EgressAnswer, type EgressConnection, EgressGuard, type EgressGuardOptions, SPLICE_ANSWER_AFTER } from "./egress-guard.ts";
import { egressAuditEntry } from "./egress-audit-entry.ts";
import { REFUSAL_LINES_PER_RULE, REFUSAL_LINES_PER_RUN } from "./egress-refusal-tally.ts";
import { egressVerdict } from "./egress-rules.ts";

// The guard in-process, on a real Unix socket, in front of a real TCP server on 127.0.0.1 that the test's DNS table
// and `treatAsPublic` make "public" (as web_fetch's tests do): only these two seams differ from how org runs it.

const root = mkdtempSync(join(tmpdir(), "org-egress-guard-"));
let upstream: Server;
let port = 0;
/** What the upstream server received, each connection's bytes as they stood when it closed, in the order they closed. */
const seen: string[] = [];
/** Who waits for the upstream server's end of a connection to close, and for which. */
const closeWaiters = new Set<{ matches: (received: string) => boolean; resolve: (received: string) => void }>();
let upstreamConnections = 0;
/** The first bytes of a TLS ClientHello (a handshake record, TLS 1.x): what a tunnel must begin with. */
const HELLO = "\x16\x03\x01";
/** Bytes of the large answer (`/big`), and of the huge one (`/huge`), past SPLICE_ANSWER_AFTER. */
const BIG = 256 * 1024;
const HUGE = SPLICE_ANSWER_AFTER * 3;

beforeAll(async () => {
  upstream = createServer((socket) => {
    upstreamConnections += 1;
    let head = "";
    socket.on("close", () => {
      seen.push(head);
      for (const waiter of closeWaiters) if (waiter.matches(head)) waiter.resolve(head);
    });
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      // A sink through a tunnel: it answers how many bytes it has received, each time more come.
      if (head.startsWith(`${HELLO}sink`)) return void socket.write(`${head.length}\n`);
      if (!head.includes("\r\n\r\n")) return;
      const body =
        head.startsWith("GET /big") || head.startsWith(`${HELLO}GET /big`)
          ? "x".repeat(BIG)
          : head.startsWith("GET /huge")
            ? "h".repeat(HUGE)
            : `you asked: ${head.split("\r\n")[0]}; host ${/\r\nHost: (.*)\r\n/.exec(head)?.[1]}`;
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  port = (upstream.address() as { port: number }).port;
});
afterAll(() => {
  upstream.close();
  rmSync(root, { recursive: true, force: true });
});

const DNS: Record<string, string[]> = {
  "public.test": ["127.0.0.1"],
  "other.test": ["127.0.0.1"],
  "intranet.test": ["93.184.216.34", "10.0.0.7"],
  "metadata.test": ["169.254.169.254"],
};

let sockets = 0;
/** A guard on a fresh socket, with the test's DNS and 127.0.0.1 taken as public; stopped by `await using`. */
async function guardWith(rules: Parameters<typeof egressRules>[0], extra: Partial<EgressGuardOptions> = {}) {
  const connections: EgressConnection[] = [];
  const socketPath = join(root, `g${sockets++}.sock`);
  const guard = await EgressGuard.start({
    rules: { ...egressRules({ ports: [port], tlsPorts: [port], ...rules }), ...(extra.rules ?? {}) },
    socketPath,
    resolver: async (host) => {
      const found = DNS[host];
      if (!found) throw new Error(`no such host ${host}`);
      return found;
    },
    treatAsPublic: new Set(["127.0.0.1"]),
    onConnection: (connection) => connections.push(connection),
    ...extra,
  });
  return { guard, socketPath, connections, [Symbol.asyncDispose]: () => guard.stop() };
}

/** Sends `bytes` to the guard and reads until it closes (at most `timeoutMs`: a bound for a busy machine, not a claim). */
function exchange(socketPath: string, bytes: string | Buffer, options: { timeoutMs?: number; hold?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the guard did not close within ${options.timeoutMs ?? 15_000} ms; got ${Buffer.concat(chunks).toString().slice(0, 200)}`));
    }, options.timeoutMs ?? 15_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.on("error", () => {});
    socket.write(bytes);
  });
}

/**
 * What the upstream server received on the first connection `matches` takes, once its end closed (the client's end
 * of the guard can close first: the two closes come in either order). At most `timeoutMs`.
 */
function upstreamClosed(matches: (received: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const already = seen.find(matches);
  if (already !== undefined) return Promise.resolve(already);
  return new Promise((resolve, reject) => {
    const waiter = {
      matches,
      resolve: (received: string) => {
        clearTimeout(timer);
        closeWaiters.delete(waiter);
        resolve(received);
      },
    };
    const timer = setTimeout(() => {
      closeWaiters.delete(waiter);
      reject(new Error(`no connection to the upstream server closed as awaited within ${timeoutMs} ms; closed: ${JSON.stringify(seen)}`));
    }, timeoutMs);
    closeWaiters.add(waiter);
  });
}

const get = (host: string, path = "/hello") => `GET http://${host}:${port}${path} HTTP/1.1\r\nHost: ${host}\r\nProxy-Connection: keep-alive\r\n\r\n`;

describe("egressVerdict", () => {
  const rules = egressRules({ allow: ["*.example.com", "203.0.113.9"], deny: ["bad.example.com"], presets: ["npm"] });
  test("deny wins over a wildcard allow; presets and exact IPs are listed; the rest is refused", () => {
    expect(egressVerdict(rules, "docs.example.com", 443, false).verdict).toBe("allow");
    expect(egressVerdict(rules, "bad.example.com", 443, false)).toEqual({ verdict: "deny", rule: "on sandbox.egress.deny (bad.example.com)" });
    expect(egressVerdict(rules, "evil-example.com", 443, false)).toEqual({ verdict: "deny", rule: "not on sandbox.egress.allow" });
    expect(egressVerdict(rules, "registry.npmjs.org", 443, false).rule).toBe("in sandbox.egress.presets (npm)");
    expect(egressVerdict(rules, "203.0.113.9", 443, true).verdict).toBe("allow");
    expect(egressVerdict(rules, "203.0.113.10", 443, true).rule).toMatch(/raw IP address/);
    expect(egressVerdict(rules, "docs.example.com", 22, false).rule).toMatch(/port 22 is not on sandbox\.egress\.ports/);
    expect(egressVerdict({ ...rules, unlisted: "ask" }, "unknown.test", 80, false).verdict).toBe("ask");
  });
});

describe("EgressGuard", () => {
  test("passes a plain request to an allowed host, in origin form with its own Host, and records it", async () => {
    await using setup = await guardWith({ allow: ["public.test"] });
    const answer = await exchange(setup.socketPath, get("public.test"));
    expect(answer).toStartWith("HTTP/1.1 200 OK");
    expect(answer).toContain(`you asked: GET /hello HTTP/1.1; host public.test:${port}`);
    expect(setup.connections).toMatchObject([{ host: "public.test", port, allowed: true, rule: "on sandbox.egress.allow (public.test)" }]);
    expect(setup.connections[0]?.bytesIn).toBeGreaterThan(0);
    expect(setup.connections[0]?.bytesOut).toBeGreaterThan(0);
  });

  test("tunnels a CONNECT to an allowed host end to end", async () => {
    await using setup = await guardWith({ allow: ["*.test"] });
    const answer = await exchange(
      setup.socketPath,
      `CONNECT other.test:${port} HTTP/1.1\r\nHost: other.test:${port}\r\n\r\n${HELLO}GET /inside HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(answer).toStartWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 OK");
    expect(answer).toContain(`you asked: ${HELLO}GET /inside HTTP/1.1`);
    expect(setup.guard.summary()).toMatch(/^reached 1 host \(other\.test\)/);
  });

  test("refuses in HTTP what the rules refuse, naming the rule and the setting to change", async () => {
    await using setup = await guardWith({ allow: ["public.test", "*.test"], deny: ["other.test"] });
    const denied = await exchange(setup.socketPath, get("other.test"));
    expect(denied).toStartWith("HTTP/1.1 403 Forbidden");
    expect(denied).toContain("on sandbox.egress.deny (other.test). To allow it, take it off sandbox.egress.deny in org.config.json.");
    const unlisted = await exchange(setup.socketPath, `CONNECT evil.example:${port} HTTP/1.1\r\n\r\n`);
    expect(unlisted).toContain(`refused evil.example:${port}: not on sandbox.egress.allow. To allow it, add it to sandbox.egress.allow`);
    const rawIp = await exchange(setup.socketPath, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
    expect(rawIp).toContain("a raw IP address, not listed exactly on sandbox.egress.allow");
    const wrongPort = await exchange(setup.socketPath, "CONNECT public.test:22 HTTP/1.1\r\n\r\n");
    expect(wrongPort).toContain(`port 22 is not on sandbox.egress.ports (${port}). To allow it, add the port to sandbox.egress.ports`);
    expect(setup.guard.summary()).toContain(
      "refused other.test: on sandbox.egress.deny (other.test); refused evil.example: not on sandbox.egress.allow",
    );
    expect(setup.connections.every((connection) => !connection.allowed && connection.bytesIn === 0)).toBe(true);
  });

  test("speaks SOCKS5 on the same socket, under the same rules: a CONNECT by name tunnels, an unlisted host is refused", async () => {
    await using setup = await guardWith({ allow: ["public.test"] });
    const socksConnect = (host: string) =>
      Buffer.concat([
        Buffer.from([5, 1, 0]),
        Buffer.from([5, 1, 0, 3, host.length]),
        Buffer.from(host, "latin1"),
        Buffer.from([port >> 8, port & 0xff]),
      ]);
    const tunnelled = await exchange(
      setup.socketPath,
      Buffer.concat([socksConnect("public.test"), Buffer.from(`${HELLO}GET /socks HTTP/1.1\r\nHost: x\r\n\r\n`, "latin1")]),
    );
    expect([...Buffer.from(tunnelled, "latin1").subarray(0, 12)]).toEqual([5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(tunnelled).toContain(`you asked: ${HELLO}GET /socks HTTP/1.1`);
    const refused = await exchange(setup.socketPath, socksConnect("evil.test"));
    expect([...Buffer.from(refused, "latin1")]).toEqual([5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(setup.connections.map((connection) => [connection.host, connection.rule])).toEqual([
      ["public.test", "on sandbox.egress.allow (public.test)"],
      ["evil.test", "not on sandbox.egress.allow"],
    ]);
    // What no DNS holds is no host name, whichever way it comes.
    expect(await exchange(setup.socketPath, `CONNECT evil%2ftest:${port} HTTP/1.1\r\n\r\n`)).toContain("not a host name");
  });

  test("connects only to public addresses, whatever the allow list says", async () => {
    await using setup = await guardWith({ allow: ["*"] }, { treatAsPublic: new Set() });
    expect(await exchange(setup.socketPath, get("intranet.test"))).toContain("it resolves to 10.0.0.7, which is private (RFC 1918)");
    expect(await exchange(setup.socketPath, get("metadata.test"))).toContain("169.254.169.254, which is link-local");
    expect(await exchange(setup.socketPath, get("public.test"))).toContain("127.0.0.1, which is loopback");
    await using listed = await guardWith({ allow: ["127.0.0.1", "::ffff:127.0.0.1"] }, { treatAsPublic: new Set() });
    expect(await exchange(listed.socketPath, `CONNECT [::ffff:127.0.0.1]:${port} HTTP/1.1\r\n\r\n`)).toContain("IPv4-mapped form of 127.0.0.1");
  });

  test("refuses a request line with a bare CR or LF, and a plain request carrying a secret", async () => {
    await using setup = await guardWith({ allow: ["public.test"] }, { secretValues: ["s3cr3t-value-abcdef"] });
    expect(await exchange(setup.socketPath, `GET http://public.test:${port}/ HTTP/1.1\rX-Smuggled: 1\r\n\r\n`)).toStartWith("HTTP/1.1 400");
    expect(await exchange(setup.socketPath, `GET http://public.test:${port}/ HTTP/1.1\nHost: evil\r\n\r\n`)).toStartWith("HTTP/1.1 400");
    const leak = `POST http://public.test:${port}/ HTTP/1.1\r\nContent-Length: 19\r\n\r\ns3cr3t-value-abcdef`;
    expect(await exchange(setup.socketPath, leak)).toContain("a plain-HTTP request carrying a secret");
    expect(setup.connections.filter((connection) => connection.allowed)).toHaveLength(0);
    // A hash a package manager sends (npm's tarball integrity) is no secret.
    // (This one scanForSecrets's net for random-looking values takes for a key.)
    const integrity = "sha512-QLJEESZB3XjdT5O2yRkN1G4AmRlNWkQle3761u+f9Gg9oe2gJERIyzQ6poj10+/XMU2v5YCsC8vxFa7Kno3BFA==";
    const tarball = `GET http://public.test:${port}/t.tgz HTTP/1.1\r\npacote-integrity: ${integrity}\r\n\r\n`;
    expect(await exchange(setup.socketPath, tarball)).toStartWith("HTTP/1.1 200 OK");
  });

  test("cuts a client that trickles its request head past the deadline", async () => {
    await using setup = await guardWith({ allow: ["public.test"] }, { headerTimeoutMs: 300 });
    const started = performance.now();
    // Well under the 10 s a head has by default, with room for a busy machine.
    const answer = await exchange(setup.socketPath, "GET http://public.test/ HTTP/1.1\r\nX-Slow: ", { timeoutMs: 6_000 });
    expect(answer).toStartWith("HTTP/1.1 408");
    expect(performance.now() - started).toBeLessThan(6_000);
  });

  test("gives up on a name that never resolves after the idle time, saying so", async () => {
    const rules = egressRules({ allow: ["public.test"], ports: [port], limits: { idleSeconds: 0.3 } });
    await using setup = await guardWith({}, { rules, resolver: () => new Promise(() => {}) });
    const started = performance.now();
    expect(await exchange(setup.socketPath, get("public.test"), { timeoutMs: 6_000 })).toContain(
      "org's egress guard could not resolve public.test: no answer within 0.3 s",
    );
    expect(performance.now() - started).toBeLessThan(6_000);
  });

  test("cuts a run past its byte cap and says which setting bounds it", async () => {
    const rules = egressRules({ allow: ["public.test"], ports: [port], limits: { bytesIn: 64 * 1024 } });
    await using setup = await guardWith({}, { rules });
    const answer = await exchange(setup.socketPath, get("public.test", "/big"));
    expect(answer.length).toBeLessThan(BIG);
    expect(setup.connections[0]?.cut).toMatch(/more than 64\.0 KB \(sandbox\.egress\.limits\.bytesIn\)/);
    expect(setup.guard.summary()).toContain("cut public.test: the run received more than 64.0 KB");
  });

  for (const relayBySplice of [true, false]) {
    const how = relayBySplice ? "goes on by splice(2) after its head" : "stays on the event loop";
    test(`a plain answer past ${SPLICE_ANSWER_AFTER} bytes ${how}, whole, and within the byte cap`, async () => {
      await using whole = await guardWith({ allow: ["public.test"] }, { relayBySplice });
      // The client sends more after its request: none of it reaches the server, whichever relay carries the answer.
      // A path of this test's own: the upstream connection it opened is told from every other by it.
      const path = `/huge?splice=${relayBySplice}`;
      const answer = await exchange(whole.socketPath, `${get("public.test", path)}GET /again HTTP/1.1\r\n\r\n`);
      const [head = "", body = ""] = answer.split("\r\n\r\n");
      expect(head).toBe(`HTTP/1.1 200 OK\r\nContent-Length: ${HUGE}\r\nConnection: close`);
      expect(body.length).toBe(HUGE);
      expect(body).toBe("h".repeat(HUGE));
      const received = await upstreamClosed((head) => head.startsWith(`GET ${path} `));
      expect(received).toStartWith(`GET ${path} HTTP/1.1\r\n`);
      expect(received).not.toContain("/again");
      // The server's own head and body, counted as they came in.
      expect(whole.connections[0]).toMatchObject({ allowed: true, bytesIn: `${head}\r\n\r\n`.length + HUGE });
      expect(whole.guard.splicedConnections).toBe(relayBySplice ? 1 : 0);

      const rules = egressRules({ allow: ["public.test"], ports: [port], limits: { bytesIn: 2 * SPLICE_ANSWER_AFTER } });
      await using capped = await guardWith({}, { rules, relayBySplice });
      const cut = await exchange(capped.socketPath, get("public.test", "/huge"));
      expect(cut.length).toBeLessThanOrEqual(2 * SPLICE_ANSWER_AFTER);
      expect(capped.connections[0]?.cut).toBe("the run received more than 2.0 MB (sandbox.egress.limits.bytesIn)");
      expect(capped.guard.splicedConnections).toBe(relayBySplice ? 1 : 0);
    });
  }

  for (const relayBySplice of [true, false])
    test(`a tunnel relayed ${relayBySplice ? "by splice(2)" : "on the event loop"} is cut at the run's byte cap, saying so`, async () => {
      const rules = egressRules({ allow: ["public.test"], ports: [port], tlsPorts: [port], limits: { bytesIn: 64 * 1024 } });
      await using setup = await guardWith({}, { rules, relayBySplice });
      const answer = await exchange(setup.socketPath, `CONNECT public.test:${port} HTTP/1.1\r\n\r\n${HELLO}GET /big HTTP/1.1\r\n\r\n`);
      // What came past the cap is not passed on: at most the 64 KiB the run may receive (all of them, when the cap
      // falls on a read's end), after the 39 bytes of the guard's own answer.
      expect(answer).toStartWith("HTTP/1.1 200 Connection Established\r\n\r\n");
      expect(answer.length).toBeLessThanOrEqual(64 * 1024 + 39);
      expect(setup.connections[0]).toMatchObject({
        allowed: true,
        bytesOut: HELLO.length + 21,
        cut: "the run received more than 64.0 KB (sandbox.egress.limits.bytesIn)",
      });
      expect(setup.connections[0]?.bytesIn).toBeGreaterThan(64 * 1024);
      expect(setup.guard.summary()).toContain("cut public.test: the run received more than 64.0 KB");
    });

  for (const relayBySplice of [true, false])
    test(`a tunnel relayed ${relayBySplice ? "by splice(2)" : "on the event loop"} is cut at the run's bytes out, saying so`, async () => {
      const rules = egressRules({ allow: ["public.test"], ports: [port], tlsPorts: [port], limits: { bytesOut: 64 * 1024 } });
      await using setup = await guardWith({}, { rules, relayBySplice });
      // The tunnel's first bytes come with its head, the rest once it is established, so the relay carries them: 32 KiB
      // the sink acknowledges, then 64 KiB more, past the cap.
      const mark = `${HELLO}sink-${relayBySplice}:`;
      const firstPart = `${mark.slice(HELLO.length)}${"o".repeat(32 * 1024)}`;
      const acknowledged = `${HELLO.length + firstPart.length}\n`;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(setup.socketPath);
        let got = "";
        let sent = 0;
        const timer = setTimeout(() => reject(new Error(`the guard did not cut the tunnel within 15 s; got ${got.slice(0, 200)}`)), 15_000);
        socket.on("data", (chunk: Buffer) => {
          got += chunk.toString("latin1");
          if (sent === 0 && got.endsWith("\r\n\r\n")) {
            sent = 1;
            socket.write(firstPart);
          } else if (sent === 1 && got.endsWith(acknowledged)) {
            sent = 2;
            socket.write("o".repeat(64 * 1024));
          }
        });
        socket.on("close", () => {
          clearTimeout(timer);
          resolve(got);
        });
        socket.on("error", () => {});
        socket.write(`CONNECT public.test:${port} HTTP/1.1\r\n\r\n${HELLO}`);
      });
      expect(answer).toStartWith("HTTP/1.1 200 Connection Established\r\n\r\n");
      expect(answer).toContain(acknowledged);
      // What came past the cap did not go on: the server got at most the 64 KiB the run may send.
      const received = await upstreamClosed((head) => head.startsWith(mark));
      expect(received.length).toBeGreaterThanOrEqual(HELLO.length + firstPart.length);
      expect(received.length).toBeLessThanOrEqual(64 * 1024);
      expect(setup.connections[0]).toMatchObject({ allowed: true, cut: "the run sent more than 64.0 KB (sandbox.egress.limits.bytesOut)" });
      expect(setup.connections[0]?.bytesOut).toBeGreaterThan(64 * 1024);
      expect(setup.guard.splicedConnections).toBe(relayBySplice ? 1 : 0);
      expect(setup.guard.summary()).toContain("cut public.test: the run sent more than 64.0 KB");
    });

  test("a plain request whose body would take the run past its bytes out is refused before anything goes", async () => {
    const rules = egressRules({ allow: ["public.test"], ports: [port], limits: { bytesOut: 4096 } });
    await using setup = await guardWith({}, { rules });
    const post = (size: number) => `POST http://public.test:${port}/p HTTP/1.1\r\nContent-Length: ${size}\r\n\r\n${"b".repeat(size)}`;
    const before = upstreamConnections;
    // Each within the cap alone; the second would take the run's total past it.
    expect(await exchange(setup.socketPath, post(3000))).toStartWith("HTTP/1.1 200 OK");
    // Counted once in the run's total (head and body), whichever way it went.
    expect(setup.guard.summary()).toEndWith(", 3.0 KB out");
    const refused = await exchange(setup.socketPath, post(3000));
    expect(refused).toStartWith("HTTP/1.1 403 Forbidden");
    expect(refused).toContain(
      `refused public.test:${port}: the request would take the run past 4.0 KB sent (sandbox.egress.limits.bytesOut). ` +
        "To allow more, raise sandbox.egress.limits.bytesOut in org.config.json.",
    );
    expect(upstreamConnections).toBe(before + 1);
    expect(setup.connections.map((connection) => [connection.allowed, connection.rule])).toEqual([
      [true, "on sandbox.egress.allow (public.test)"],
      [false, "the request would take the run past 4.0 KB sent (sandbox.egress.limits.bytesOut)"],
    ]);
    // Two at once, each within what is left alone: one goes, the other is refused (the first's bytes are held for it
    // while it connects).
    await using both = await guardWith({}, { rules });
    const answers = await Promise.all([exchange(both.socketPath, post(3000)), exchange(both.socketPath, post(3000))]);
    expect(answers.map((answer) => answer.slice(0, 15)).sort()).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 403 Fo"]);
    // A tunnel's first bytes, sent with its head, count as well: none of what is past the cap goes on.
    await using tunnel = await guardWith(
      {},
      { rules: egressRules({ allow: ["public.test"], ports: [port], tlsPorts: [port], limits: { bytesOut: 4096 } }) },
    );
    const mark = `${HELLO}first-bytes:`;
    seen.length = 0;
    await exchange(tunnel.socketPath, `CONNECT public.test:${port} HTTP/1.1\r\n\r\n${mark}${"f".repeat(8192)}`);
    // The upstream connection opened for it (this test's only one since) closed with nothing past the cap on it.
    expect((await upstreamClosed((received) => received === "" || received.startsWith(mark))).length).toBeLessThanOrEqual(4096);
    expect(tunnel.connections[0]).toMatchObject({ allowed: true, cut: "the run sent more than 4.0 KB (sandbox.egress.limits.bytesOut)" });
  });

  test("past limits.connectionsPerMinute a connection is refused naming the limit and the setting; refusals spend none", async () => {
    const rules = egressRules({ allow: ["public.test"], ports: [port], limits: { connectionsPerMinute: 3 } });
    await using setup = await guardWith({}, { rules });
    expect(await exchange(setup.socketPath, get("evil.test"))).toStartWith("HTTP/1.1 403 Forbidden");
    for (let i = 0; i < 3; i++) expect(await exchange(setup.socketPath, get("public.test"))).toStartWith("HTTP/1.1 200 OK");
    const refused = await exchange(setup.socketPath, get("public.test"));
    expect(refused).toStartWith("HTTP/1.1 403 Forbidden");
    expect(refused).toContain(
      `org's egress guard refused public.test:${port}: this run opened 3 connections in the last minute. ` +
        "To allow more, raise sandbox.egress.limits.connectionsPerMinute.",
    );
    expect(setup.connections.at(-1)).toMatchObject({
      host: "public.test",
      port,
      allowed: false,
      rule: "this run opened 3 connections in the last minute",
      bytesIn: 0,
      bytesOut: 0,
    });
    expect(setup.guard.summary()).toContain("refused public.test: this run opened 3 connections in the last minute");
  });

  test("asks once about an unlisted host for all of a run's connections; without anyone to ask it refuses", async () => {
    const asked: string[] = [];
    const ask = async (question: { host: string; port: number }): Promise<EgressAnswer> => {
      asked.push(`${question.host}:${question.port}`);
      return question.host === "public.test" ? "once" : "deny";
    };
    await using setup = await guardWith({ unlisted: "ask" }, { ask });
    const [first, second] = await Promise.all([exchange(setup.socketPath, get("public.test")), exchange(setup.socketPath, get("public.test"))]);
    expect([first, second].map((answer) => answer.slice(0, 15))).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
    expect(await exchange(setup.socketPath, get("other.test"))).toContain("not on sandbox.egress.allow, and the person said no");
    expect(asked).toEqual([`public.test:${port}`, `other.test:${port}`]);
    expect(setup.connections.map((connection) => connection.rule)).toContain("allowed by the person");
    await using unattended = await guardWith({ unlisted: "ask" });
    expect(await exchange(unattended.socketPath, get("public.test"))).toContain("and nobody is there to ask");
  });

  test("200 connections at once from 10 runs' guards all go through, and nothing of them is left open after", async () => {
    const { readdirSync } = await import("node:fs");
    const descriptors = () => readdirSync("/proc/self/fd").length;
    const before = descriptors();
    const guards = await Promise.all(Array.from({ length: 10 }, () => guardWith({ allow: ["public.test"] })));
    const answers = await Promise.all(
      guards.flatMap((setup) =>
        Array.from({ length: 20 }, (_, index) =>
          exchange(setup.socketPath, `CONNECT public.test:${port} HTTP/1.1\r\n\r\n${HELLO}GET /n${index} HTTP/1.1\r\nHost: x\r\n\r\n`),
        ),
      ),
    );
    expect(answers.filter((answer) => answer.includes("HTTP/1.1 200 OK"))).toHaveLength(200);
    expect(guards.map((setup) => setup.connections.filter((connection) => connection.allowed).length)).toEqual(Array(10).fill(20));
    await Promise.all(guards.map((setup) => setup.guard.stop()));
    // Every socket of the guards (listening, client and upstream sides) is closed again; the upstream server's own
    // ends close as it finishes each answer.
    const deadline = performance.now() + 10_000;
    while (descriptors() > before && performance.now() < deadline) await Bun.sleep(20);
    expect(descriptors()).toBeLessThanOrEqual(before);
  });

  test("a question still open when the run ends is withdrawn (its signal aborts)", async () => {
    let withdrawn: Promise<void> | undefined;
    const { promise: asked, resolve: onAsked } = Promise.withResolvers<void>();
    const ask = (_question: { host: string; port: number }, signal: AbortSignal) => {
      withdrawn = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      onAsked();
      return new Promise<EgressAnswer>(() => {});
    };
    await using setup = await guardWith({ unlisted: "ask" }, { ask });
    const answer = exchange(setup.socketPath, get("public.test"));
    await asked;
    await setup.guard.stop();
    await withdrawn;
    expect(await answer).toBe("");
  });

  test("stopping the guard cuts an open tunnel at once", async () => {
    await using setup = await guardWith({ allow: ["public.test"] });
    const closed = new Promise<string>((resolve) => {
      const socket = connect(setup.socketPath);
      let seen = "";
      socket.on("data", (chunk) => {
        seen += chunk.toString();
        if (seen.includes("Established")) void setup.guard.stop();
      });
      socket.on("close", () => resolve(seen));
      socket.on("error", () => {});
      socket.write(`CONNECT public.test:${port} HTTP/1.1\r\n\r\n${HELLO}`);
    });
    expect(await closed).toStartWith("HTTP/1.1 200 Connection Established");
    expect(setup.connections[0]?.cut).toBe("the run ended");
  });
});

describe("EgressGuard: what a request may not slip past it", () => {
  const SECRET = "orgsecretVALUE-9f8e7d6c5b4a3210";

  test("a tunnel is for TLS: a CONNECT to a port off tlsPorts, and plain HTTP inside a tunnel, are refused saying how to send it", async () => {
    await using setup = await guardWith({ allow: ["public.test"], ports: [port, 80], tlsPorts: [port] }, { secretValues: [SECRET] });
    const offPort = await exchange(setup.socketPath, "CONNECT public.test:80 HTTP/1.1\r\n\r\n");
    expect(offPort).toStartWith("HTTP/1.1 403 Forbidden");
    expect(offPort).toContain("a tunnel to port 80, not on sandbox.egress.tlsPorts");
    expect(offPort).toContain("send plain HTTP as a proxy request (absolute form");
    // What `curl -p` sends: the request the guard would have rewritten and scanned, inside a tunnel to an allowed port.
    seen.length = 0;
    const inside = await exchange(
      setup.socketPath,
      `CONNECT public.test:${port} HTTP/1.1\r\n\r\nGET /?k=${SECRET} HTTP/1.1\r\nHost: evil.test\r\n\r\n`,
    );
    expect(inside).toStartWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 403 Forbidden");
    expect(inside).toContain("a tunnel (CONNECT) carries TLS only. Send plain HTTP as a proxy request");
    // The upstream connection opened for the tunnel closed with nothing of the request on it.
    expect(await upstreamClosed((received) => received === "")).toBe("");
    expect(seen.filter((received) => received.includes(SECRET) || received.includes("evil.test"))).toEqual([]);
    expect(setup.connections.map((connection) => [connection.allowed, connection.rule])).toEqual([
      [false, `a tunnel to port 80, not on sandbox.egress.tlsPorts (${port})`],
      [false, "a tunnel not carrying TLS"],
    ]);
    // SOCKS5 is a tunnel too: a port off tlsPorts is "not allowed by ruleset".
    const socks = Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, 11]), Buffer.from("public.test"), Buffer.from([0, 80])]);
    expect([...Buffer.from(await exchange(setup.socketPath, socks), "latin1")]).toEqual([5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  test("a secret split across two headers is refused by the whole-request scan", async () => {
    await using setup = await guardWith({ allow: ["public.test"] }, { secretValues: [SECRET] });
    const split = `GET http://public.test:${port}/ HTTP/1.1\r\nX-A: ${SECRET.slice(0, 15)}\r\nX-B: ${SECRET.slice(15)}\r\n\r\n`;
    const answer = await exchange(setup.socketPath, split);
    expect(answer).toStartWith("HTTP/1.1 403 Forbidden");
    expect(answer).toContain("org never sends a secret out of a sandbox");
    expect(setup.connections[0]?.rule).toStartWith("a plain-HTTP request carrying a secret");
  });

  test("a length a server could read otherwise is refused (400); the one Content-Length sent is the guard's own", async () => {
    await using setup = await guardWith({ allow: ["public.test"] });
    const post = (fields: string, body = "abcde") => `POST http://public.test:${port}/p HTTP/1.1\r\n${fields}\r\n\r\n${body}`;
    const cases: [string, string][] = [
      [post("Content-Length: 0x5"), "is not a decimal number of bytes"],
      [post("Content-Length: 5\r\nContent-Length: 0"), "more than one Content-Length"],
      [post("Content-Length: 5\r\nTransfer-Encoding: chunked"), "both Transfer-Encoding and Content-Length"],
      [post("Content-Length: 5\r\nX-A: 1\r\n X-Folded: 2"), "obs-fold"],
      [post("Content-Length : 5"), "is no `Name: value` field"],
      [post("Content-Length: 5\r\nX-A: a\x00b"), "the X-A header holds a control character"],
    ];
    const before = upstreamConnections;
    for (const [request, said] of cases) {
      const answer = await exchange(setup.socketPath, request);
      expect(answer).toStartWith("HTTP/1.1 400 Bad Request");
      expect(answer).toContain(said);
    }
    expect(upstreamConnections).toBe(before);
    seen.length = 0;
    expect(await exchange(setup.socketPath, post("Content-Length: 005\r\nConnection: keep-alive"))).toStartWith("HTTP/1.1 200 OK");
    expect(await upstreamClosed((received) => received.startsWith("POST /p"))).toBe(
      `POST /p HTTP/1.1\r\nHost: public.test:${port}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde`,
    );
  });

  test("a body withheld is cut by its deadline, and nothing was opened upstream for it", async () => {
    const rules = egressRules({ allow: ["public.test"], ports: [port], limits: { idleSeconds: 0.3 } });
    await using setup = await guardWith({}, { rules });
    const before = upstreamConnections;
    const started = performance.now();
    const answer = await exchange(setup.socketPath, `POST http://public.test:${port}/ HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc`, {
      timeoutMs: 6_000,
    });
    expect(answer).toStartWith("HTTP/1.1 408 Request Timeout");
    expect(answer).toContain("the request's body took longer than 0.3 s");
    expect(performance.now() - started).toBeLessThan(6_000);
    expect(upstreamConnections).toBe(before);
    expect(setup.connections).toMatchObject([{ host: "public.test", allowed: false, rule: "the request's body slower than 0.3 s" }]);
  });

  test("a host refused again and again is a few lines, then one line with the count; every allowed connection is a line", async () => {
    const setup = await guardWith({ allow: ["public.test"] });
    try {
      for (let i = 0; i < 40; i++) expect(await exchange(setup.socketPath, get("evil.test"))).toStartWith("HTTP/1.1 403 Forbidden");
      expect(await exchange(setup.socketPath, get("public.test"))).toStartWith("HTTP/1.1 200 OK");
      // Host after host: lines until the run's refusal lines are spent, then counted together.
      const hosts = REFUSAL_LINES_PER_RUN - REFUSAL_LINES_PER_RULE + 10;
      for (let i = 0; i < hosts; i++) expect(await exchange(setup.socketPath, get(`h${i}.test`))).toStartWith("HTTP/1.1 403");
      expect(await exchange(setup.socketPath, get("evil.test"))).toStartWith("HTTP/1.1 403");
      expect(await exchange(setup.socketPath, get("public.test"))).toStartWith("HTTP/1.1 200 OK");
      const written = setup.connections.map((connection) => `${connection.host} ${connection.allowed}`);
      expect(written.slice(0, REFUSAL_LINES_PER_RULE + 1)).toEqual([...Array(REFUSAL_LINES_PER_RULE).fill("evil.test false"), "public.test true"]);
      expect(written.filter((line) => line.endsWith("false"))).toHaveLength(REFUSAL_LINES_PER_RUN);
      expect(written.at(-1)).toBe("public.test true");
    } finally {
      await setup.guard.stop();
    }
    const ending = setup.connections.filter((connection) => connection.repeated !== undefined);
    expect(ending).toEqual([
      {
        host: "evil.test",
        port,
        rule: "not on sandbox.egress.allow",
        allowed: false,
        bytesIn: 0,
        bytesOut: 0,
        durationMs: 0,
        repeated: 41 - REFUSAL_LINES_PER_RULE,
      },
      {
        host: "(more hosts)",
        port: 0,
        rule: `refused past the run's ${REFUSAL_LINES_PER_RUN} lines of refusals`,
        allowed: false,
        bytesIn: 0,
        bytesOut: 0,
        durationMs: 0,
        repeated: 10,
      },
    ]);
    expect(egressAuditEntry(ending[0] as EgressConnection, { command: "loop" }).connection).toMatchObject({ host: "evil.test", repeated: 38 });
    expect(setup.guard.summary()).toContain("refused evil.test (41 times): not on sandbox.egress.allow; refused h0.test: not on");
  });

  test("unfinished request heads: at most 32 held at once, the rest refused at once, audited and counted", async () => {
    const rules = egressRules({ allow: ["public.test"], ports: [port], limits: { connections: 45 } });
    await using setup = await guardWith({}, { rules });
    const partial = `GET http://public.test:${port}/ HTTP/1.1\r\nX: ${"a".repeat(8 * 1024)}`;
    const holders = Array.from({ length: 32 }, () => {
      const socket = connect(setup.socketPath);
      socket.on("error", () => {});
      socket.write(partial);
      return socket;
    });
    try {
      // Connected before the probe (the guard accepts in that order), so the probe is the 33rd, refused at once.
      await Promise.all(holders.map((socket) => new Promise((resolve) => socket.once("connect", resolve))));
      const refused = await exchange(setup.socketPath, partial);
      expect(refused).toStartWith("HTTP/1.1 429 Too Many Requests");
      expect(refused).toContain("more than 32 connections still sending their request at once. Open fewer connections at once.");
      expect(setup.connections).toMatchObject([{ allowed: false, rule: "more than 32 connections still sending their request at once" }]);
      expect(setup.guard.summary()).toContain("refused (unreadable request): more than 32 connections still sending their request");
    } finally {
      for (const socket of holders) socket.destroy();
    }
    // Once they are gone, a request goes through again: their ends were read before the first try's answer came back,
    // and each try refused spends one of the 45. A head over 16 KiB is refused.
    let answer = "";
    for (let tries = 0; tries < 5 && !answer.startsWith("HTTP/1.1 200"); tries++) answer = await exchange(setup.socketPath, get("public.test"));
    expect(answer).toStartWith("HTTP/1.1 200 OK");
    const big = await exchange(setup.socketPath, `GET http://public.test:${port}/ HTTP/1.1\r\nX: ${"a".repeat(17 * 1024)}\r\n\r\n`);
    expect(big).toStartWith("HTTP/1.1 431");
    // Every refusal counted toward limits.connections: spent, the next is refused before it is read.
    for (let tries = 0; tries < 45 && !answer.includes("opened its 45 connections"); tries++)
      answer = await exchange(setup.socketPath, get("public.test"));
    expect(answer).toContain("org's egress guard refused a connection: this run opened its 45 connections.");
  });
});
