import type { Socket } from "node:net";
import { normalHost } from "./egress-rules.ts";
import { SOCKS_VERSION } from "./egress-socks.ts";

// The egress guard's HTTP side: reading a client's request head (or telling a SOCKS5 greeting from it), checking
// what it asks for, passing a plain answer back with `Connection: close`, and refusing in HTTP.

const MAX_HEAD_BYTES = 64 * 1024;
/** A DNS name: labels of letters, digits and inner hyphens (underscores too, which some records use). */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
/** A plain-HTTP body is read whole and checked for secrets before it is sent, so it is bounded. */
const MAX_PLAIN_BODY_BYTES = 1024 * 1024;
/** Request-head fields that are the proxy's own, never passed on. */
const HOP_FIELDS = new Set(["proxy-connection", "proxy-authorization", "connection", "keep-alive", "host"]);

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
  | { kind: "connect"; target: Target; forward: string }
  | { kind: "plain"; target: Target; forward: string; contentLength: number };

/** The request line and fields of a client's head; a Refusal for anything the guard does not pass on. */
export function parseRequest(head: string): ParsedRequest {
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
    return { kind: "connect", target: checkedTarget(authority[1], Number(authority[2])), forward: "" };
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
  return { kind: "plain", target: checkedTarget(url.hostname, port), forward, contentLength };
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

/** An HTTP request's head and what came after it, or the first bytes of a SOCKS5 greeting. */
export type Head = { kind: "http"; head: string; rest: Buffer } | { kind: "socks"; first: Buffer };

/**
 * The request head (up to its blank line) and what came after it, or a SOCKS5 greeting's first bytes; undefined when the
 * client is too slow or too big.
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
      done(undefined);
    }, timeoutMs);
    const onClose = () => done(undefined);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered[0] === SOCKS_VERSION) return done({ kind: "socks", first: buffered });
      const end = buffered.indexOf("\r\n\r\n");
      if (end !== -1) return done({ kind: "http", head: buffered.subarray(0, end).toString("latin1"), rest: buffered.subarray(end + 4) });
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
export async function readPlainBody(client: Socket, request: ParsedRequest, rest: Buffer): Promise<Buffer> {
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

/** A refusal in the client's protocol: an HTTP answer whose body says what was refused and what to change. */
export function refuse(client: Socket, status: number, message: string): void {
  if (client.destroyed) return;
  const reason =
    { 400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 431: "Request Header Fields Too Large", 502: "Bad Gateway" }[status] ?? "Error";
  const body = `${message}\n`;
  client.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ` +
      `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
