import { chmodSync } from "node:fs";
import type { Server, Socket } from "node:net";
import type { EgressRules } from "../config/egress-policy.ts";
import { refusedAddressReason } from "../security/public-address.ts";
import { KnownSecrets } from "../security/known-secrets.ts";
import { scanOutbound } from "../security/scan-outbound.ts";
import {
  AnswerHead,
  checkedTarget,
  forwardHead,
  type ParsedRequest,
  parseRequest,
  Refusal,
  readAtLeast,
  readHead,
  readPlainBody,
  refuse,
  startsTls,
  type Target,
} from "./egress-http.ts";
import { egressVerdict } from "./egress-rules.ts";
import { RefusalTally } from "./egress-refusal-tally.ts";
import { readSocksRequest, SOCKS_REPLY, socksReply } from "./egress-socks.ts";
import { type SpliceCut, type SplicedCounts, SpliceRelay } from "./egress-splice.ts";

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
  /**
   * A line written as the run ends for refusals not written one by one (`RefusalTally`): how many more of this host,
   * port and rule were refused after its first lines.
   */
  repeated?: number;
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
  /**
   * Whether tunnels are relayed by splice(2) on a thread of their own where it runs (Linux); false relays them on bun's
   * event loop as plain requests are. Only tests and the bench pass false, to hold the two side by side.
   */
  relayBySplice?: boolean;
};

const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
/**
 * The bytes of a plain request's answer after which its rest goes by splice(2) (0.2 ms of CPU a MiB): a download worth
 * the relay thread's start, about 6 ms of CPU once per run, which bun's event loop copies at 0.6–1 ms a MiB.
 */
export const SPLICE_ANSWER_AFTER = 1024 * 1024;
/**
 * Connections of one run still sending their request (head, plain body, a tunnel's first bytes) at once: what the guard
 * holds for each is bounded, and so is their number; the rest are refused as they come.
 */
export const MAX_UNFINISHED_REQUESTS = 32;
const systemResolver: EgressResolver = async (hostname) =>
  (await (await import("node:dns/promises")).lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

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
  readonly #refusals = new RefusalTally();
  /** The run's bytes in and out, shared with the splice relay's thread. */
  readonly #totals = new BigInt64Array(new SharedArrayBuffer(2 * 8));
  /** The relay by splice(2) for tunnels, started with the first; undefined inside where it cannot run here. */
  #splice: Promise<SpliceRelay | undefined> | undefined;
  #spliced = 0;
  #started = 0;
  #unfinished = 0;
  #secrets: KnownSecrets | undefined;

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

  /**
   * Stops listening and cuts every connection still open; pending questions are withdrawn. Refusals past their lines are
   * written now, one line per host, port and rule with their count.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    for (const socket of this.#open) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await (await this.#splice)?.stop();
    for (const connection of this.#refusals.ending()) this.write(connection);
  }

  /** What the run reached and what was refused, for its result: "reached 2 hosts, 41 MB in; refused evil.example: …". */
  summary(): string | undefined {
    if (this.connections.length === 0) return undefined;
    const reached = new Set(this.connections.filter((entry) => entry.allowed).map((entry) => entry.host));
    const parts: string[] = [];
    if (reached.size > 0)
      parts.push(
        `reached ${reached.size} host${reached.size === 1 ? "" : "s"} ` +
          `(${[...reached].slice(0, 5).join(", ")}), ${megabytes(this.#total(0))} in, ${megabytes(this.#total(1))} out`,
      );
    const refused = new Map<string, { rule: string; times: number }>();
    for (const entry of this.connections) {
      if (entry.allowed) continue;
      // Each host with the first rule that refused it, and how often that rule did.
      const seen = refused.get(entry.host) ?? { rule: entry.rule, times: 0 };
      if (seen.rule === entry.rule) seen.times += entry.repeated ?? 1;
      refused.set(entry.host, seen);
    }
    for (const [host, { rule, times }] of [...refused].slice(0, 5)) parts.push(`refused ${host}${times > 1 ? ` (${times} times)` : ""}: ${rule}`);
    const cut = this.connections.find((entry) => entry.cut !== undefined && entry.allowed);
    if (cut?.cut !== undefined) parts.push(`cut ${cut.host}: ${cut.cut}`);
    return parts.join("; ");
  }

  private accept(socket: Socket): void {
    this.#open.add(socket);
    socket.once("close", () => this.#open.delete(socket));
    socket.on("error", () => socket.destroy());
    const started = performance.now();
    const { connections } = this.#options.rules.limits;
    // Refused before anything is read or held: past the run's connections, or too many requests unfinished at once
    // (each such refusal counts as one of the run's connections).
    const spent = this.#started >= connections;
    if (spent || this.#unfinished >= MAX_UNFINISHED_REQUESTS) {
      const rule = spent
        ? `this run opened its ${connections} connections`
        : `more than ${MAX_UNFINISHED_REQUESTS} connections still sending their request at once`;
      if (!spent) this.#started += 1;
      const change = spent ? "To allow more, raise sandbox.egress.limits.connections." : "Open fewer connections at once.";
      refuse(socket, spent ? 403 : 429, `org's egress guard refused a connection: ${rule}. ${change}`);
      this.record(started, undefined, false, rule);
      return;
    }
    this.#unfinished += 1;
    let unfinished = true;
    const finished = () => {
      if (unfinished) this.#unfinished -= 1;
      unfinished = false;
    };
    socket.once("close", finished);
    this.handle(socket, started, finished)
      .catch(() => socket.destroy())
      .finally(finished);
  }

  /** One connection: its request read and judged (`finished` once it is whole), then relayed or refused. */
  private async handle(client: Socket, started: number, finished: () => void): Promise<void> {
    const headerTimeoutMs = this.#options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
    const head = await readHead(client, headerTimeoutMs);
    if (head === undefined) {
      client.destroy();
      return;
    }
    if (head.kind === "cut") return this.record(started, undefined, false, head.rule);
    if (head.kind === "socks") return this.handleSocks(client, head.first, started + headerTimeoutMs, started, finished);
    let target: Target | undefined;
    let upstream: Socket | undefined;
    const record = (allowed: boolean, rule: string, counts?: Counts) => this.record(started, target, allowed, rule, counts);
    const idleMs = this.#options.rules.limits.idleSeconds * 1000;
    /** Bytes of a plain request held in the run's bytes out while it connects, so that requests at once cannot all pass. */
    let held = 0;
    try {
      const request = parseRequest(head.head);
      target = request.target;
      const rule = await this.admit(request.target, request.kind === "connect");
      let first: Buffer;
      if (request.kind === "connect") {
        this.startSplice();
        upstream = await this.connectChecked(request.target);
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        first = await this.tunnelStart(client, head.rest, request.target, headerTimeoutMs);
      } else {
        // The whole request is read and checked before anything of it goes out: a body withheld holds nothing upstream.
        const body = await readPlainBody(client, request, head.rest, Math.min(headerTimeoutMs, idleMs));
        this.refuseSecrets(request, body);
        first = Buffer.concat([forwardHead(request), body]);
        held = this.holdBytesOut(request.target, first.length);
        upstream = await this.connectChecked(request.target);
      }
      finished();
      // Let go in the same turn as the relay counts them again: no other connection sees the total without them.
      this.#add(1, -held);
      held = 0;
      const counts = request.kind === "connect" ? await this.tunnel(client, upstream, first) : await this.relay(client, upstream, first, true);
      record(true, rule, counts);
    } catch (error) {
      upstream?.destroy();
      this.#add(1, -held);
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

  /** A connection to the address the guard resolved and checked for `target`, closed with the guard. */
  private async connectChecked(target: Target): Promise<Socket> {
    const address = await this.checkedAddress(target);
    const upstream = await connectTo(address, target.port, this.#stopping.signal, this.#options.rules.limits.idleSeconds * 1000);
    this.#open.add(upstream);
    upstream.on("error", () => upstream.destroy());
    upstream.once("close", () => this.#open.delete(upstream));
    return upstream;
  }

  /**
   * A tunnel's first bytes, which must begin a TLS ClientHello: plain HTTP through a tunnel would pass the guard unread
   * (its secret scan, its Host, one request per connection). A Refusal saying how to send plain HTTP otherwise.
   */
  private async tunnelStart(client: Socket, rest: Buffer, target: Target, timeoutMs: number): Promise<Buffer> {
    const first = await readAtLeast(client, rest, 2, timeoutMs, "the tunnel's first bytes");
    if (startsTls(first)) return first;
    throw new Refusal(
      403,
      "a tunnel not carrying TLS",
      `org's egress guard refused the tunnel to ${target.host}:${target.port}: a tunnel (CONNECT) carries TLS only. ` +
        "Send plain HTTP as a proxy request (absolute form, `GET http://host/path HTTP/1.1`: curl without -p), so that the guard reads it.",
    );
  }

  /** A connection as it ended, in `connections` and for the audit. */
  private record(started: number, target: Target | undefined, allowed: boolean, rule: string, counts: Counts = { bytesIn: 0, bytesOut: 0 }): void {
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
    // Each allowed connection is a line; a refused one only while its host and rule have lines left (RefusalTally).
    if (allowed || this.#refusals.admit(connection)) this.write(connection);
  }

  private write(connection: EgressConnection): void {
    this.connections.push(connection);
    this.#options.onConnection?.(connection);
  }

  /** A SOCKS5 CONNECT, under the same rules as an HTTP CONNECT; a refusal is a SOCKS reply (the run's result says why). */
  private async handleSocks(client: Socket, first: Buffer, deadline: number, started: number, finished: () => void): Promise<void> {
    const request = await readSocksRequest(client, first, deadline);
    if (request === undefined) {
      client.destroy();
      return;
    }
    if ("refused" in request) {
      client.end(socksReply(request.refused));
      this.record(started, undefined, false, "a SOCKS5 request other than CONNECT");
      return;
    }
    let target: Target | undefined;
    let upstream: Socket | undefined;
    let replied = false;
    try {
      target = checkedTarget(request.host, request.port);
      const rule = await this.admit(target, true);
      this.startSplice();
      upstream = await this.connectChecked(target);
      client.write(socksReply(SOCKS_REPLY.ok));
      replied = true;
      const tunnelFirst = await this.tunnelStart(client, request.rest, target, Math.max(deadline - performance.now(), 1_000));
      finished();
      this.record(started, target, true, rule, await this.tunnel(client, upstream, tunnelFirst));
    } catch (error) {
      upstream?.destroy();
      const refused = error instanceof Refusal && error.status === 403;
      if (replied) client.destroy();
      else client.end(socksReply(refused ? SOCKS_REPLY.notAllowed : SOCKS_REPLY.unreachable));
      const why = error instanceof Refusal ? error.rule : `could not connect: ${error instanceof Error ? error.message : String(error)}`;
      this.record(started, target, false, why);
    }
  }

  /** The rule that lets `target` out, after the run's connection limits; throws a Refusal naming why not. */
  private async admit(target: Target, tunnel: boolean): Promise<string> {
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
    if (tunnel && !rules.tlsPorts.includes(target.port))
      throw setting(
        `a tunnel to port ${target.port}, not on sandbox.egress.tlsPorts (${rules.tlsPorts.join(", ")})`,
        "A tunnel (CONNECT) carries TLS only: send plain HTTP as a proxy request (absolute form, `GET http://host/path HTTP/1.1`: " +
          "curl without -p), so that the guard reads it; a port that speaks TLS goes on sandbox.egress.tlsPorts in org.config.json.",
      );
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

  /** The scan web_request makes (`scanOutbound`), over the plain request as the guard sends it; a Refusal when it finds a secret. */
  private refuseSecrets(request: Extract<ParsedRequest, { kind: "plain" }>, body: Buffer): void {
    this.#secrets ??= new KnownSecrets(this.#options.secretValues ?? []);
    const found = scanOutbound({ method: request.method, url: request.url, headers: request.headers, body }, this.#secrets);
    if (found === undefined) return;
    const rule = `a plain-HTTP request carrying a secret (${found.kinds.join(", ")})`;
    throw new Refusal(
      403,
      rule,
      `org's egress guard refused ${request.target.host}:${request.target.port}: a plain-HTTP request carrying a secret ` +
        `(${found.where} holds ${found.kinds.join(" and ")}); org never sends a secret out of a sandbox, whole, in pieces or encoded.`,
    );
  }

  /**
   * Holds a plain request's `bytes` (head and body, up to 1 MiB) in the run's bytes out, and returns them; a Refusal,
   * holding nothing, when they would take the run past its cap.
   */
  private holdBytesOut(target: Target, bytes: number): number {
    const { bytesOut } = this.#options.rules.limits;
    if (this.#add(1, bytes) <= bytesOut) return bytes;
    this.#add(1, -bytes);
    const rule = `the request would take the run past ${megabytes(bytesOut)} sent (sandbox.egress.limits.bytesOut)`;
    throw new Refusal(
      403,
      rule,
      `org's egress guard refused ${target.host}:${target.port}: ${rule}. To allow more, raise sandbox.egress.limits.bytesOut in org.config.json.`,
    );
  }

  /** Adds `bytes` to the run's total in (0) or out (1); the new total. */
  #add(way: 0 | 1, bytes: number): number {
    return Number(Atomics.add(this.#totals, way, BigInt(bytes))) + bytes;
  }

  #total(way: 0 | 1): number {
    return Number(Atomics.load(this.#totals, way));
  }

  /** What the audit and the run's result say of a relay cut short. */
  private cutMessage(cut: SpliceCut): string {
    const { limits } = this.#options.rules;
    if (cut === "bytesIn") return `the run received more than ${megabytes(limits.bytesIn)} (sandbox.egress.limits.bytesIn)`;
    if (cut === "bytesOut") return `the run sent more than ${megabytes(limits.bytesOut)} (sandbox.egress.limits.bytesOut)`;
    if (cut === "idle") return `nothing either way for ${limits.idleSeconds} s (sandbox.egress.limits.idleSeconds)`;
    return "the run ended";
  }

  /**
   * An established tunnel, `first` (its client's first bytes) sent on: relayed by splice(2) on the relay's thread where
   * it runs (bun's sockets handed over), by `relay` otherwise. Same caps, idle time, counts and cuts either way.
   */
  private async tunnel(client: Socket, upstream: Socket, first: Buffer): Promise<Counts> {
    // The client's first bytes (what came with the head) are held to the run's bytes out as any other.
    if (this.#total(1) + first.length > this.#options.rules.limits.bytesOut) {
      this.#add(1, first.length);
      client.destroy();
      upstream.destroy();
      return { bytesIn: 0, bytesOut: first.length, cut: this.cutMessage("bytesOut") };
    }
    const flushed = written(client, upstream, first);
    const splice = await this.spliceRelay();
    if (splice !== undefined) await flushed;
    const taken = splice === undefined || client.destroyed || upstream.destroyed ? undefined : splice.take(client, upstream);
    if (taken === undefined) return this.relay(client, upstream, first.length, false);
    this.#add(1, first.length);
    return this.splicedCounts(taken, { bytesIn: 0, bytesOut: first.length });
  }

  /** The counts of a connection the splice relay took (`taken`) after `before` had gone by, its cut in org's words. */
  private async splicedCounts(taken: Promise<SplicedCounts>, before: Counts): Promise<Counts> {
    this.#spliced += 1;
    const counts = await taken;
    return {
      bytesIn: before.bytesIn + counts.bytesIn,
      bytesOut: before.bytesOut + counts.bytesOut,
      ...(counts.cut !== undefined ? { cut: this.cutMessage(counts.cut) } : {}),
    };
  }

  /** Starts the splice relay as the run's first tunnel is let through, while it connects (a thread's start, a few ms). */
  private startSplice(): void {
    if (this.#stopping.signal.aborted || this.#options.relayBySplice === false) return;
    this.#splice ??= SpliceRelay.start(this.#options.rules.limits, this.#totals);
  }

  /** How many connections the relay by splice(2) has taken, tunnels and plain answers (the bench and tests read it). */
  get splicedConnections(): number {
    return this.#spliced;
  }

  /** The splice relay, started with the run's first tunnel; undefined where it cannot run, or once the guard stops. */
  private async spliceRelay(): Promise<SpliceRelay | undefined> {
    const stopping = this.#stopping.signal;
    this.startSplice();
    if (this.#splice === undefined || stopping.aborted) return undefined;
    let onAbort = () => {};
    const stopped = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      stopping.addEventListener("abort", onAbort, { once: true });
    });
    const relay = await Promise.race([this.#splice, stopped]);
    stopping.removeEventListener("abort", onAbort);
    return stopping.aborted ? undefined : relay;
  }

  /**
   * Copies both ways until either side ends, within the run's byte caps and the idle time; returns the counts. For a
   * plain request (`oneRequest`) nothing more of the client's goes to the server (a second request would reach this
   * host unchecked), and the answer's head says `Connection: close`, so the client sends its next request anew. Once
   * such an answer's head has gone by and SPLICE_ANSWER_AFTER bytes of it, the rest goes by splice(2) on the relay's
   * thread where it runs (started then and waited for, once per run), one way, as a tunnel's bytes go: the same caps,
   * idle time and counts.
   */
  private relay(client: Socket, upstream: Socket, first: Buffer | number, oneRequest: boolean): Promise<Counts> {
    const { limits } = this.#options.rules;
    const closing = oneRequest ? new AnswerHead() : undefined;
    if (typeof first !== "number") upstream.write(first);
    const alreadyOut = typeof first === "number" ? first : first.length;
    const counts: Counts = { bytesIn: 0, bytesOut: alreadyOut };
    this.#add(1, alreadyOut);
    return new Promise((resolve) => {
      let done = false;
      const listeners = new SocketListeners();
      const finish = (cut?: string) => {
        if (done) return;
        done = true;
        if (cut !== undefined) counts.cut = cut;
        client.destroy();
        upstream.destroy();
        resolve(counts);
      };
      const idleFor = (ms: number) => {
        client.setTimeout(ms);
        upstream.setTimeout(ms);
      };
      // Hands the rest of a plain answer to the splice relay (started, and waited for, once per run), once what was
      // written to the client has gone, the upstream paused meanwhile; where it cannot be taken, the relay here goes on.
      let handing = false;
      let tried = false;
      const handOver = (splice: SpliceRelay | undefined) => {
        handing = false;
        if (done) return;
        if (splice === undefined || client.writableLength > 0) return void upstream.resume();
        listeners.detach();
        idleFor(0);
        // One way: only the server's bytes go on, as here.
        const taken = splice.take(client, upstream, true);
        if (taken !== undefined) {
          done = true;
          return void this.splicedCounts(taken, counts).then(resolve);
        }
        listeners.attach();
        idleFor(limits.idleSeconds * 1000);
        upstream.resume();
      };
      const idle = () => finish(this.cutMessage("idle"));
      listeners.on(client, "timeout", idle);
      listeners.on(upstream, "timeout", idle);
      idleFor(limits.idleSeconds * 1000);
      listeners.on(upstream, "data", (chunk: Buffer) => {
        counts.bytesIn += chunk.length;
        if (this.#add(0, chunk.length) > limits.bytesIn) return finish(this.cutMessage("bytesIn"));
        const passed = closing ? closing.pass(chunk) : chunk;
        if (passed === undefined) return finish("the server's answer head was larger than 64 KiB");
        if (!tried && closing?.passed && counts.bytesIn >= SPLICE_ANSWER_AFTER && this.#options.relayBySplice !== false) {
          tried = true;
          handing = true;
          upstream.pause();
          return void client.write(passed, () => void this.spliceRelay().then(handOver));
        }
        if (!client.write(passed)) upstream.pause();
      });
      listeners.on(client, "drain", () => handing || upstream.resume());
      listeners.on(client, "data", (chunk: Buffer) => {
        if (oneRequest) return;
        counts.bytesOut += chunk.length;
        if (this.#add(1, chunk.length) > limits.bytesOut) return finish(this.cutMessage("bytesOut"));
        if (!upstream.write(chunk)) client.pause();
      });
      listeners.on(upstream, "drain", () => client.resume());
      // A half-close is passed on; the connection ends when both sides have.
      listeners.on(upstream, "end", () => client.end());
      listeners.on(client, "end", () => oneRequest || upstream.end());
      listeners.on(upstream, "close", () => (client.writableFinished || client.destroyed ? finish() : client.end(() => finish())));
      listeners.on(client, "close", () => finish(this.#stopping.signal.aborted ? this.cutMessage("stopped") : undefined));
      listeners.on(upstream, "error", () => finish());
      listeners.on(client, "error", () => finish());
      // The head's reader paused the client; a data listener alone does not start a paused stream again.
      client.resume();
      // Either socket may have closed before the relay began (the guard stopping): its close has passed already.
      if (client.destroyed || upstream.destroyed) finish(this.#stopping.signal.aborted ? this.cutMessage("stopped") : undefined);
    });
  }
}

type Counts = { bytesIn: number; bytesOut: number; cut?: string };
type Listener = Parameters<Socket["off"]>[1];

/** A relay's listeners on its sockets, taken off all at once (and put back) as the splice relay takes the sockets over. */
class SocketListeners {
  readonly #added: [Socket, string, Listener][] = [];

  on(socket: Socket, event: string, listener: Listener): void {
    socket.on(event, listener);
    this.#added.push([socket, event, listener]);
  }

  detach(): void {
    for (const [socket, event, listener] of this.#added) socket.off(event, listener);
  }

  attach(): void {
    for (const [socket, event, listener] of this.#added) socket.on(event, listener);
  }
}

/** `first` written to `upstream` and gone to the kernel, or either socket closed first. */
function written(client: Socket, upstream: Socket, first: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      client.off("close", done);
      upstream.off("close", done);
      resolve();
    };
    client.once("close", done);
    upstream.once("close", done);
    upstream.write(first, done);
  });
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

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}
