import { chmodSync } from "node:fs";
import type { Server, Socket } from "node:net";
import type { EgressRules } from "../config/egress-policy.ts";
import { refusedAddressReason } from "../security/public-address.ts";
import { RANDOM_VALUE_KIND, scanForSecrets } from "../security/scan-for-secrets.ts";
import { egressVerdict, normalHost } from "./egress-rules.ts";

/**
 * The person's answer to a host on neither list: this run only, the rest of the session, or no; "nobody" when no person
 * could be asked (serve's HTTP with nobody watching, a run without a terminal).
 */
export type EgressAnswer = "once" | "session" | "deny" | "nobody";

/** What the person is asked about: the host and port a command wants to reach. */
export type EgressQuestion = { host: string; port: number };

/** Host name → its addresses (all of them). Tests pass a table to play a hostile DNS. */
export type EgressResolver = (hostname: string) => Promise<string[]>;

/** One connection a run asked for, as the audit and the run's result tell it; never a body. */
export type EgressConnection = {
  host: string;
  port: number;
  /** The rule that let it through or refused it. */
  rule: string;
  allowed: boolean;
  /** Bytes from the server to the command, and from the command to the server. */
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** Why it ended early: a limit, the guard stopping, a connection that failed. */
  cut?: string;
};

export type EgressGuardOptions = {
  rules: EgressRules;
  /** Where the guard listens; the sandbox reaches it through this socket, bound in. */
  socketPath: string;
  /** Asks the person about a host on neither list (`unlisted: "ask"`); without it such a host is refused. */
  ask?: (question: EgressQuestion, signal: AbortSignal) => Promise<EgressAnswer>;
  /** Called as each connection ends (the audit line). */
  onConnection?: (connection: EgressConnection) => void;
  /** The values of org's secrets: a plain-HTTP request carrying one is refused. */
  secretValues?: readonly string[];
  resolver?: EgressResolver;
  /** Addresses taken as public although they are not. Only tests pass this, to reach servers on 127.0.0.1. */
  treatAsPublic?: ReadonlySet<string>;
  /** How long a client has to send its whole request head (a slow-loris client is cut). */
  headerTimeoutMs?: number;
};

const MAX_HEAD_BYTES = 64 * 1024;
/** A plain-HTTP body is read whole and checked for secrets before it is sent, so it is bounded. */
const MAX_PLAIN_BODY_BYTES = 1024 * 1024;
const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
/** Request-head fields that are the proxy's own, never passed on. */
const HOP_FIELDS = new Set(["proxy-connection", "proxy-authorization", "connection", "keep-alive", "host"]);

const systemResolver: EgressResolver = async (hostname) =>
  (await (await import("node:dns/promises")).lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** A request the guard refuses: the status, and the text naming the rule and the setting to change. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

type Target = { host: string; port: number; isIp: boolean };

/**
 * org's egress guard for one sandboxed run: an HTTP proxy (plain requests and CONNECT) on a Unix socket that lets a
 * connection out only to a host its rules allow (or the person allows), at a public address it resolved and
 * checked itself, within the run's limits; every connection is recorded. HTTPS stays end to end: the guard sees
 * the host and port of a CONNECT and the bytes' count, never what they carry.
 */
export class EgressGuard {
  readonly connections: EgressConnection[] = [];
  readonly #options: EgressGuardOptions;
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  readonly #answers = new Map<string, Promise<EgressAnswer>>();
  readonly #stopping = new AbortController();
  readonly #opened: number[] = [];
  #bytesIn = 0;
  #bytesOut = 0;
  #started = 0;

  private constructor(options: EgressGuardOptions, server: Server) {
    this.#options = options;
    this.#server = server;
  }

  /** Starts a guard listening on `options.socketPath` (which any uid may connect to: only the sandbox sees it). */
  static async start(options: EgressGuardOptions): Promise<EgressGuard> {
    const { createServer }: typeof import("node:net") = process.getBuiltinModule("node:net");
    let guard: EgressGuard | undefined;
    const server = createServer((socket) => guard?.accept(socket));
    guard = new EgressGuard(options, server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.socketPath, () => {
        server.off("error", reject);
        resolve();
      });
    });
    // As root the sandbox runs as another uid; the socket is reachable only through the sandbox's own mount.
    chmodSync(options.socketPath, 0o666);
    return guard;
  }

  /** Stops listening and cuts every connection still open; pending questions are withdrawn. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    for (const socket of this.#open) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** What the run reached and what was refused, for its result: "reached 2 hosts, 41 MB in; refused evil.example: …". */
  summary(): string | undefined {
    if (this.connections.length === 0) return undefined;
    const reached = new Set(this.connections.filter((entry) => entry.allowed).map((entry) => entry.host));
    const parts: string[] = [];
    if (reached.size > 0)
      parts.push(
        `reached ${reached.size} host${reached.size === 1 ? "" : "s"} ` +
          `(${[...reached].slice(0, 5).join(", ")}), ${megabytes(this.#bytesIn)} in, ${megabytes(this.#bytesOut)} out`,
      );
    const refused = new Map<string, string>();
    for (const entry of this.connections) if (!entry.allowed && !refused.has(entry.host)) refused.set(entry.host, entry.rule);
    for (const [host, rule] of [...refused].slice(0, 5)) parts.push(`refused ${host}: ${rule}`);
    const cut = this.connections.find((entry) => entry.cut !== undefined && entry.allowed);
    if (cut?.cut !== undefined) parts.push(`cut ${cut.host}: ${cut.cut}`);
    return parts.join("; ");
  }

  private accept(socket: Socket): void {
    this.#open.add(socket);
    socket.once("close", () => this.#open.delete(socket));
    socket.on("error", () => socket.destroy());
    this.handle(socket).catch(() => socket.destroy());
  }

  private async handle(client: Socket): Promise<void> {
    const started = performance.now();
    const head = await readHead(client, this.#options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS);
    if (head === undefined) {
      client.destroy();
      return;
    }
    let target: Target | undefined;
    const record = (allowed: boolean, rule: string, counts: { bytesIn: number; bytesOut: number; cut?: string } = { bytesIn: 0, bytesOut: 0 }) => {
      const connection: EgressConnection = {
        host: target?.host ?? "(unreadable request)",
        port: target?.port ?? 0,
        rule,
        allowed,
        bytesIn: counts.bytesIn,
        bytesOut: counts.bytesOut,
        durationMs: Math.round(performance.now() - started),
        ...(counts.cut !== undefined ? { cut: counts.cut } : {}),
      };
      this.connections.push(connection);
      this.#options.onConnection?.(connection);
    };
    try {
      const request = parseRequest(head.head);
      target = request.target;
      const rule = await this.admit(request.target);
      const address = await this.checkedAddress(request.target);
      let sent = Buffer.alloc(0);
      const upstream = await connectTo(address, request.target.port, this.#stopping.signal, this.#options.rules.limits.idleSeconds * 1000);
      this.#open.add(upstream);
      upstream.on("error", () => upstream.destroy());
      upstream.once("close", () => this.#open.delete(upstream));
      if (request.kind === "connect") {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.rest.length > 0) upstream.write(head.rest);
      } else {
        const body = await readPlainBody(client, request, head.rest);
        this.refuseSecrets(request, body);
        sent = Buffer.concat([Buffer.from(request.forward, "latin1"), body]);
        upstream.write(sent);
      }
      const counts = await this.relay(client, upstream, request.kind === "connect" ? head.rest.length : sent.length, request.kind === "plain");
      record(true, rule, counts);
    } catch (error) {
      if (!(error instanceof Refusal)) {
        const why = error instanceof Error ? error.message : String(error);
        refuse(client, 502, `org's egress guard could not reach ${target?.host ?? "the host"}: ${why}`);
        record(false, `could not connect: ${why}`);
        return;
      }
      refuse(client, error.status, error.message);
      record(false, error.rule);
    }
  }

  /** The rule that lets `target` out, after the run's connection limits; throws a Refusal naming why not. */
  private async admit(target: Target): Promise<string> {
    const { rules } = this.#options;
    const setting = (rule: string, change: string) =>
      new Refusal(403, rule, `org's egress guard refused ${target.host}:${target.port}: ${rule}. ${change}`);
    const now = performance.now();
    while (this.#opened.length > 0 && (this.#opened[0] ?? now) < now - 60_000) this.#opened.shift();
    if (this.#started >= rules.limits.connections)
      throw setting(`this run opened its ${rules.limits.connections} connections`, "To allow more, raise sandbox.egress.limits.connections.");
    if (this.#opened.length >= rules.limits.connectionsPerMinute)
      throw setting(
        `this run opened ${rules.limits.connectionsPerMinute} connections in the last minute`,
        "To allow more, raise sandbox.egress.limits.connectionsPerMinute.",
      );
    const { verdict, rule } = egressVerdict(rules, target.host, target.port, target.isIp);
    if (verdict === "deny") {
      const change = rule.startsWith("port ")
        ? "To allow it, add the port to sandbox.egress.ports in org.config.json."
        : rule.startsWith("on sandbox.egress.deny")
          ? "To allow it, take it off sandbox.egress.deny in org.config.json."
          : "To allow it, add it to sandbox.egress.allow in org.config.json.";
      throw setting(rule, change);
    }
    const answer = verdict === "ask" ? await this.askOnce(target) : undefined;
    if (answer === "deny" || answer === "nobody") {
      throw setting(
        answer === "deny" ? "not on sandbox.egress.allow, and the person said no" : "not on sandbox.egress.allow, and nobody is there to ask",
        "To allow it, add it to sandbox.egress.allow in org.config.json.",
      );
    }
    this.#started += 1;
    this.#opened.push(now);
    return verdict === "ask" ? "allowed by the person" : rule;
  }

  /** One question per host and port in a run, however many connections wait for it. */
  private askOnce(target: Target): Promise<EgressAnswer> {
    const { ask } = this.#options;
    if (ask === undefined) return Promise.resolve("nobody");
    const key = `${target.host}:${target.port}`;
    let answer = this.#answers.get(key);
    if (answer === undefined) {
      answer = ask({ host: target.host, port: target.port }, this.#stopping.signal).catch((): EgressAnswer => "nobody");
      this.#answers.set(key, answer);
    }
    return answer;
  }

  /** Resolves the name itself and checks every address (the rules web_fetch uses); the connection goes to the one checked. */
  private async checkedAddress(target: Target): Promise<string> {
    const addresses = target.isIp
      ? [target.host]
      : await withinTime((this.#options.resolver ?? systemResolver)(target.host), this.#options.rules.limits.idleSeconds * 1000).catch(
          (error: unknown) => {
            throw new Refusal(
              502,
              "does not resolve",
              `org's egress guard could not resolve ${target.host}: ${error instanceof Error ? error.message : String(error)}`,
            );
          },
        );
    const [first] = addresses;
    if (first === undefined) throw new Refusal(502, "has no address", `org's egress guard found no address for ${target.host}`);
    for (const address of addresses) {
      if (this.#options.treatAsPublic?.has(address)) continue;
      const why = refusedAddressReason(address);
      if (why !== undefined) {
        const rule = `resolves to ${address}, which is ${why}`;
        throw new Refusal(
          403,
          rule,
          `org's egress guard refused ${target.host}:${target.port}: it ${rule}; only public addresses are reached, whatever the config says.`,
        );
      }
    }
    return first;
  }

  private refuseSecrets(request: ParsedRequest, body: Buffer): void {
    // Not the net for random-looking values: package managers send hashes in headers (npm's pacote-integrity), and a
    // registry reached over plain HTTP would be refused for them.
    const { kinds: found } = scanForSecrets(`${request.forward}${body.toString("latin1")}`, this.#options.secretValues ?? []);
    const kinds = found.filter((kind) => kind !== RANDOM_VALUE_KIND);
    if (kinds.length > 0) {
      const rule = `a plain-HTTP request carrying a secret (${kinds.join(", ")})`;
      throw new Refusal(
        403,
        rule,
        `org's egress guard refused ${request.target.host}:${request.target.port}: ${rule}; org never sends a secret out of a sandbox.`,
      );
    }
  }

  /**
   * Copies both ways until either side ends, within the run's byte caps and the idle time; returns the counts. For a
   * plain request (`oneRequest`) nothing more of the client's goes to the server (a second request would reach this
   * host unchecked), and the answer's head says `Connection: close`, so the client sends its next request anew.
   */
  private relay(
    client: Socket,
    upstream: Socket,
    alreadyOut: number,
    oneRequest: boolean,
  ): Promise<{ bytesIn: number; bytesOut: number; cut?: string }> {
    const { limits } = this.#options.rules;
    const closing = oneRequest ? new AnswerHead() : undefined;
    const counts: { bytesIn: number; bytesOut: number; cut?: string } = { bytesIn: 0, bytesOut: alreadyOut };
    this.#bytesOut += alreadyOut;
    return new Promise((resolve) => {
      let done = false;
      const finish = (cut?: string) => {
        if (done) return;
        done = true;
        if (cut !== undefined) counts.cut = cut;
        client.destroy();
        upstream.destroy();
        resolve(counts);
      };
      const idle = () => finish(`nothing either way for ${limits.idleSeconds} s (sandbox.egress.limits.idleSeconds)`);
      client.setTimeout(limits.idleSeconds * 1000, idle);
      upstream.setTimeout(limits.idleSeconds * 1000, idle);
      upstream.on("data", (chunk: Buffer) => {
        counts.bytesIn += chunk.length;
        this.#bytesIn += chunk.length;
        if (this.#bytesIn > limits.bytesIn) return finish(`the run received more than ${megabytes(limits.bytesIn)} (sandbox.egress.limits.bytesIn)`);
        const passed = closing ? closing.pass(chunk) : chunk;
        if (passed === undefined) return finish("the server's answer head was larger than 64 KiB");
        if (!client.write(passed)) upstream.pause();
      });
      client.on("drain", () => upstream.resume());
      client.on("data", (chunk: Buffer) => {
        if (oneRequest) return;
        counts.bytesOut += chunk.length;
        this.#bytesOut += chunk.length;
        if (this.#bytesOut > limits.bytesOut) return finish(`the run sent more than ${megabytes(limits.bytesOut)} (sandbox.egress.limits.bytesOut)`);
        if (!upstream.write(chunk)) client.pause();
      });
      upstream.on("drain", () => client.resume());
      // A half-close is passed on; the connection ends when both sides have.
      upstream.on("end", () => client.end());
      client.on("end", () => oneRequest || upstream.end());
      upstream.on("close", () => (client.writableFinished || client.destroyed ? finish() : client.end(() => finish())));
      client.on("close", () => finish(this.#stopping.signal.aborted ? "the run ended" : undefined));
      upstream.on("error", () => finish());
      client.on("error", () => finish());
      // The head's reader paused the client; a data listener alone does not start a paused stream again.
      client.resume();
    });
  }
}

/** A plain answer's head, held until it is whole and passed on with `Connection: close`; then the body as it comes. */
class AnswerHead {
  #held: Buffer | undefined = Buffer.alloc(0);

  /** What to send the client now (perhaps nothing yet); undefined when the head grows past 64 KiB. */
  pass(chunk: Buffer): Buffer | undefined {
    if (this.#held === undefined) return chunk;
    const held = Buffer.concat([this.#held, chunk]);
    const end = held.indexOf("\r\n\r\n");
    if (end === -1) {
      this.#held = held;
      return held.length > MAX_HEAD_BYTES ? undefined : Buffer.alloc(0);
    }
    this.#held = undefined;
    const lines = held.subarray(0, end).toString("latin1").split("\r\n");
    const kept = lines.filter((line, index) => index === 0 || !/^(connection|keep-alive|proxy-connection)\s*:/i.test(line));
    return Buffer.concat([Buffer.from(`${[...kept, "Connection: close"].join("\r\n")}\r\n\r\n`, "latin1"), held.subarray(end + 4)]);
  }
}

type ParsedRequest = { kind: "connect"; target: Target; forward: string } | { kind: "plain"; target: Target; forward: string; contentLength: number };

/** The request line and fields of a client's head; a Refusal for anything the guard does not pass on. */
function parseRequest(head: string): ParsedRequest {
  const lines = head.split("\r\n");
  // A bare CR or LF inside a line is how a request is smuggled past a proxy that reads lines differently.
  if (lines.some((line) => line.includes("\r") || line.includes("\n")))
    throw new Refusal(400, "a bare CR or LF in the request", "org's egress guard refused the request: it holds a bare CR or LF.");
  const start = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? "");
  if (!start?.[1] || !start[2])
    throw new Refusal(400, "not an HTTP/1.x proxy request", "org's egress guard refused the request: it is not HTTP/1.x.");
  const [method, uri] = [start[1], start[2]];
  const fields = lines.slice(1).filter((line) => line !== "");
  if (method === "CONNECT") {
    const authority = /^(\[[0-9a-fA-F:.]+\]|[^:\s/@]+):(\d{1,5})$/.exec(uri);
    if (!authority?.[1] || !authority[2])
      throw new Refusal(400, "a CONNECT without host:port", "org's egress guard refused a CONNECT without host:port.");
    return { kind: "connect", target: target(authority[1], Number(authority[2])), forward: "" };
  }
  if (!URL.canParse(uri))
    throw new Refusal(400, "a request without an absolute URL", "org's egress guard takes absolute http:// URLs (it is a proxy).");
  const url = new URL(uri);
  if (url.protocol !== "http:")
    throw new Refusal(
      400,
      `${url.protocol} through a plain request`,
      "org's egress guard sends plain requests for http:// only; https goes through CONNECT.",
    );
  if (url.username !== "" || url.password !== "")
    throw new Refusal(403, "credentials in the URL", "org's egress guard refused a URL with credentials (user@host).");
  const port = url.port === "" ? 80 : Number(url.port);
  const kept = fields.filter((line) => !HOP_FIELDS.has(line.slice(0, line.indexOf(":")).trim().toLowerCase()));
  const lengthField = fields.find((line) => /^content-length\s*:/i.test(line));
  if (fields.some((line) => /^transfer-encoding\s*:/i.test(line)))
    throw new Refusal(
      403,
      "a chunked plain-HTTP body",
      "org's egress guard checks a plain-HTTP body for secrets before it is sent, so it needs a Content-Length; use https.",
    );
  const contentLength = lengthField === undefined ? 0 : Number(lengthField.slice(lengthField.indexOf(":") + 1).trim());
  if (!Number.isSafeInteger(contentLength) || contentLength < 0 || contentLength > MAX_PLAIN_BODY_BYTES)
    throw new Refusal(
      403,
      "a plain-HTTP body over 1 MiB",
      "org's egress guard checks a plain-HTTP body for secrets before it is sent: send at most 1 MiB, or use https.",
    );
  const forward = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...kept, "Connection: close", "", ""].join("\r\n");
  return { kind: "plain", target: target(url.hostname, port), forward, contentLength };
}

function target(host: string, port: number): Target {
  const { isIP }: typeof import("node:net") = process.getBuiltinModule("node:net");
  const normal = normalHost(host);
  if (!(port >= 1 && port <= 65_535)) throw new Refusal(400, `port ${port}`, `org's egress guard refused port ${port}: not a port.`);
  return { host: normal, port, isIp: isIP(normal) !== 0 };
}

/** The request head (up to its blank line) and what came after it; undefined when the client is too slow or too big. */
function readHead(client: Socket, timeoutMs: number): Promise<{ head: string; rest: Buffer } | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const done = (value: { head: string; rest: Buffer } | undefined) => {
      clearTimeout(timer);
      client.off("data", onData);
      client.off("close", onClose);
      client.pause();
      resolve(value);
    };
    // The whole head within the deadline, however slowly it trickles in (a slow-loris client).
    const timer = setTimeout(() => {
      refuse(client, 408, `org's egress guard closed the connection: the request head took longer than ${timeoutMs / 1000} s.`);
      done(undefined);
    }, timeoutMs);
    const onClose = () => done(undefined);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end !== -1) return done({ head: buffered.subarray(0, end).toString("latin1"), rest: buffered.subarray(end + 4) });
      if (buffered.length > MAX_HEAD_BYTES) {
        refuse(client, 431, "org's egress guard refused a request head larger than 64 KiB.");
        done(undefined);
      }
    };
    client.on("data", onData);
    client.once("close", onClose);
    client.resume();
  });
}

/** A plain request's whole body (its Content-Length, bounded), read before anything is sent. */
async function readPlainBody(client: Socket, request: ParsedRequest, rest: Buffer): Promise<Buffer> {
  const length = request.kind === "plain" ? request.contentLength : 0;
  let body = rest;
  while (body.length < length) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const onData = (data: Buffer) => {
        client.off("close", onClose);
        client.pause();
        resolve(data);
      };
      const onClose = () => {
        client.off("data", onData);
        resolve(undefined);
      };
      client.once("data", onData);
      client.once("close", onClose);
      client.resume();
    });
    if (chunk === undefined) throw new Refusal(400, "a body cut short", "the request's body ended before its Content-Length.");
    body = Buffer.concat([body, chunk]);
  }
  // A second request pipelined after the body would go to this host unchecked: it is dropped (Connection: close).
  return body.subarray(0, length);
}

/** `work`, or an error once `timeoutMs` has passed (the system resolver cannot be cancelled: its answer is dropped). */
function withinTime<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** A connection to the checked address; it fails when the guard stops or nothing answers within `timeoutMs` (a blackhole). */
function connectTo(address: string, port: number, signal: AbortSignal, timeoutMs: number): Promise<Socket> {
  const { connect }: typeof import("node:net") = process.getBuiltinModule("node:net");
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port });
    const fail = (error: Error) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(error);
    };
    const onAbort = () => fail(new Error("the guard stopped"));
    const timer = setTimeout(() => fail(new Error(`${address}:${port} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A refusal in the client's protocol: an HTTP answer whose body says what was refused and what to change. */
function refuse(client: Socket, status: number, message: string): void {
  if (client.destroyed) return;
  const reason =
    { 400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 431: "Request Header Fields Too Large", 502: "Bad Gateway" }[status] ?? "Error";
  const body = `${message}\n`;
  client.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ` +
      `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}
