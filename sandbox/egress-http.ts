import { EGRESS_REFUSAL_HEADER, EGRESS_REFUSED } from "./egress-refusal-header.ts";
import type { Socket } from "node:net";
import { normalHost } from "./egress-rules.ts";
import { SOCKS_VERSION } from "./egress-socks.ts";

// The egress guard's HTTP side: reading a client's request head (or telling a SOCKS5 greeting from it), checking
// what it asks for, passing a plain answer back with `Connection: close`, and refusing in HTTP.

/** A request head: a package manager's is a few hundred bytes; what the guard holds per connection stays small. */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;
/** A server's answer head. */
const MAX_HEAD_BYTES = 64 * 1024;
/** A DNS name: labels of letters, digits and inner hyphens (underscores too, which some records use). */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
/** A plain-HTTP body is read whole and checked for secrets before it is sent, so it is bounded. */
const MAX_PLAIN_BODY_BYTES = 1024 * 1024;
/** Request-head fields that are the proxy's own, never passed on. */
const HOP_FIELDS = new Set(["proxy-connection", "proxy-authorization", "connection", "keep-alive", "host", "content-length"]);

/** A request the guard refuses: the status, and the text naming the rule and the setting to change. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

export type Target = { host: string; port: number; isIp: boolean };

/** A plain answer's head, held until it is whole and passed on with `Connection: close`; then the body as it comes. */
export class AnswerHead {
  #held: Buffer | undefined = Buffer.alloc(0);

  /** Whether the head has gone by: the rest of the answer passes as it is. */
  get passed(): boolean {
    return this.#held === undefined;
  }

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

export type ParsedRequest =
  | { kind: "connect"; target: Target }
  | {
      kind: "plain";
      target: Target;
      method: string;
      url: URL;
      /** The fields as the guard sends them, its own Host, Content-Length and Connection among them. */
      headers: readonly (readonly [string, string])[];
      contentLength: number;
    };

/** A field name: an RFC 9110 token right before its colon (no space, no fold). */
const FIELD_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
const bad = (rule: string, message: string) => new Refusal(400, rule, `org's egress guard refused the request: ${message}`);

/** The request line and fields of a client's head; a Refusal for anything the guard does not pass on. */
export function parseRequest(head: string): ParsedRequest {
  const lines = head.split("\r\n");
  // A bare CR or LF inside a line is how a request is smuggled past a proxy that reads lines differently.
  if (lines.some((line) => line.includes("\r") || line.includes("\n"))) throw bad("a bare CR or LF in the request", "it holds a bare CR or LF.");
  const start = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? "");
  if (!start?.[1] || !start[2])
    throw new Refusal(400, "not an HTTP/1.x proxy request", "org's egress guard refused the request: it is not HTTP/1.x.");
  const [method, uri] = [start[1], start[2]];
  if (method === "CONNECT") {
    const authority = /^(\[[0-9a-fA-F:.]+\]|[^:\s/@]+):(\d{1,5})$/.exec(uri);
    if (!authority?.[1] || !authority[2])
      throw new Refusal(400, "a CONNECT without host:port", "org's egress guard refused a CONNECT without host:port.");
    return { kind: "connect", target: checkedTarget(authority[1], Number(authority[2])) };
  }
  if (!URL.canParse(uri))
    throw new Refusal(
      400,
      "a request without an absolute URL",
      "org's egress guard takes absolute http:// URLs (it is a proxy): send the request as `GET http://host/path HTTP/1.1`.",
    );
  const url = new URL(uri);
  if (url.protocol !== "http:")
    throw new Refusal(
      400,
      `${url.protocol} through a plain request`,
      "org's egress guard sends plain requests for http:// only; https goes through CONNECT.",
    );
  if (url.username !== "" || url.password !== "")
    throw new Refusal(403, "credentials in the URL", "org's egress guard refused a URL with credentials (user@host).");
  const fields = lines.slice(1).map((line): [string, string] => {
    // A folded line (obs-fold) continues the field before it for one reader and starts a new one for another.
    if (/^[ \t]/.test(line)) throw bad("a folded header line", "a header line starts with a space or tab (obs-fold); send each field on one line.");
    const field = FIELD_LINE.exec(line);
    if (!field?.[1]) throw bad("a malformed header line", `${JSON.stringify(line.slice(0, 60))} is no \`Name: value\` field.`);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(field[2] ?? ""))
      throw bad("a control character in a header", `the ${field[1].slice(0, 60)} header holds a control character; send visible text only.`);
    return [field[1], field[2] ?? ""];
  });
  const named = (name: string) => fields.filter(([key]) => key.toLowerCase() === name);
  const lengths = named("content-length");
  if (named("transfer-encoding").length > 0) {
    if (lengths.length > 0)
      throw bad("Transfer-Encoding with Content-Length", "it has both Transfer-Encoding and Content-Length; send one Content-Length.");
    throw new Refusal(
      403,
      "a chunked plain-HTTP body",
      "org's egress guard checks a plain-HTTP body for secrets before it is sent, so it needs a Content-Length; use https.",
    );
  }
  if (lengths.length > 1) throw bad("more than one Content-Length", "it has more than one Content-Length field; send one.");
  const lengthText = lengths[0]?.[1];
  if (lengthText !== undefined && !/^\d{1,15}$/.test(lengthText))
    throw bad("a malformed Content-Length", `its Content-Length ${JSON.stringify(lengthText.slice(0, 30))} is not a decimal number of bytes.`);
  const contentLength = lengthText === undefined ? 0 : Number(lengthText);
  if (contentLength > MAX_PLAIN_BODY_BYTES)
    throw new Refusal(
      403,
      "a plain-HTTP body over 1 MiB",
      "org's egress guard checks a plain-HTTP body for secrets before it is sent: send at most 1 MiB, or use https.",
    );
  // The guard writes Host, Content-Length and Connection itself: one of each, what it read, whatever the client sent.
  const headers: [string, string][] = [
    ["Host", url.host],
    ...fields.filter(([name]) => !HOP_FIELDS.has(name.toLowerCase())),
    ...(lengthText !== undefined ? [field("Content-Length", String(contentLength))] : []),
    ["Connection", "close"],
  ];
  return { kind: "plain", target: checkedTarget(url.hostname, port(url)), method, url, headers, contentLength };
}

/** A plain request's head as the guard sends it, in origin form. */
export function forwardHead(request: Extract<ParsedRequest, { kind: "plain" }>): Buffer {
  const lines = [
    `${request.method} ${request.url.pathname}${request.url.search} HTTP/1.1`,
    ...request.headers.map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

const field = (name: string, value: string): [string, string] => [name, value];

function port(url: URL): number {
  return url.port === "" ? 80 : Number(url.port);
}

/** A host and port as the rules judge them; a Refusal for a port out of range or a name no DNS holds. */
export function checkedTarget(host: string, port: number): Target {
  const { isIP }: typeof import("node:net") = process.getBuiltinModule("node:net");
  const normal = normalHost(host);
  if (!(port >= 1 && port <= 65_535)) throw new Refusal(400, `port ${port}`, `org's egress guard refused port ${port}: not a port.`);
  const isIp = isIP(normal) !== 0;
  if (!isIp && !HOST_NAME.test(normal))
    throw new Refusal(400, "not a host name", `org's egress guard refused ${JSON.stringify(normal.slice(0, 100))}: not a host name.`);
  return { host: normal, port, isIp };
}

/**
 * An HTTP request's head and what came after it, the first bytes of a SOCKS5 greeting, or a head refused while it came
 * (too slow, too big; the client has had its answer).
 */
export type Head = { kind: "http"; head: string; rest: Buffer } | { kind: "socks"; first: Buffer } | { kind: "cut"; rule: string };

/**
 * The request head (up to its blank line) and what came after it, or a SOCKS5 greeting's first bytes; "cut" when the
 * client is too slow or too big; undefined when it closed first.
 */
export function readHead(client: Socket, timeoutMs: number): Promise<Head | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const done = (value: Head | undefined) => {
      clearTimeout(timer);
      client.off("data", onData);
      client.off("close", onClose);
      client.pause();
      resolve(value);
    };
    // The whole head within the deadline, however slowly it trickles in (a slow-loris client).
    const timer = setTimeout(() => {
      refuse(client, 408, `org's egress guard closed the connection: the request head took longer than ${timeoutMs / 1000} s.`);
      done({ kind: "cut", rule: `a request head slower than ${timeoutMs / 1000} s` });
    }, timeoutMs);
    const onClose = () => done(undefined);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered[0] === SOCKS_VERSION) return done({ kind: "socks", first: buffered });
      const end = buffered.indexOf("\r\n\r\n");
      if (end !== -1 && end <= MAX_REQUEST_HEAD_BYTES)
        return done({ kind: "http", head: buffered.subarray(0, end).toString("latin1"), rest: buffered.subarray(end + 4) });
      if (buffered.length > MAX_REQUEST_HEAD_BYTES) {
        refuse(client, 431, `org's egress guard refused a request head larger than ${MAX_REQUEST_HEAD_BYTES / 1024} KiB.`);
        done({ kind: "cut", rule: `a request head larger than ${MAX_REQUEST_HEAD_BYTES / 1024} KiB` });
      }
    };
    client.on("data", onData);
    client.once("close", onClose);
    client.resume();
  });
}

/**
 * What the client sent after `have`, until there are at least `length` bytes, within `timeoutMs`; a Refusal (408, or
 * 400 when the client closes first) naming `what` otherwise. The client is paused again after.
 */
export function readAtLeast(client: Socket, have: Buffer, length: number, timeoutMs: number, what: string): Promise<Buffer> {
  if (have.length >= length) return Promise.resolve(have);
  return new Promise((resolve, reject) => {
    const chunks = [have];
    let got = have.length;
    const finish = (error?: Refusal) => {
      clearTimeout(timer);
      client.off("data", onData);
      client.off("close", onClose);
      client.pause();
      if (error !== undefined) reject(error);
      else resolve(Buffer.concat(chunks, got));
    };
    const timer = setTimeout(
      () =>
        finish(
          new Refusal(
            408,
            `${what} slower than ${timeoutMs / 1000} s`,
            `org's egress guard closed the connection: ${what} took longer than ${timeoutMs / 1000} s.`,
          ),
        ),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= length) finish();
    };
    const onClose = () => finish(new Refusal(400, `${what} cut short`, `org's egress guard got ${what} cut short.`));
    client.on("data", onData);
    client.once("close", onClose);
    client.resume();
  });
}

/**
 * A plain request's whole body (its Content-Length, at most 1 MiB), read within `timeoutMs` before anything is sent
 * (a client that withholds it holds nothing upstream open).
 */
export async function readPlainBody(
  client: Socket,
  request: Extract<ParsedRequest, { kind: "plain" }>,
  rest: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  const body = await readAtLeast(client, rest, request.contentLength, timeoutMs, "the request's body");
  // A second request pipelined after the body would go to this host unchecked: it is dropped (Connection: close).
  return body.subarray(0, request.contentLength);
}

/** Whether a tunnel's first bytes begin a TLS handshake record (type 22, version 3.x): a ClientHello. */
export function startsTls(first: Buffer): boolean {
  return first[0] === 0x16 && first[1] === 0x03;
}

/** How long a refused client has to read its answer before its socket is closed. */
const REFUSED_GRACE_MS = 2_000;

/** A refusal in the client's protocol: an HTTP answer whose body says what was refused and what to change. */
export function refuse(client: Socket, status: number, message: string): void {
  if (client.destroyed) return;
  const reason =
    {
      400: "Bad Request",
      403: "Forbidden",
      408: "Request Timeout",
      429: "Too Many Requests",
      431: "Request Header Fields Too Large",
      502: "Bad Gateway",
    }[status] ?? "Error";
  const body = `${message}\n`;
  client.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n${EGRESS_REFUSAL_HEADER}: ${EGRESS_REFUSED}\r\nContent-Length: ` +
      `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // Whatever the client still sends is dropped, and the socket is gone soon even if the client never closes its side.
  client.on("data", () => {});
  client.resume();
  setTimeout(() => client.destroy(), REFUSED_GRACE_MS).unref();
}
