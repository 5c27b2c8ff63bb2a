import type { Socket } from "node:net";
import { refusedAddressReason } from "../security/public-address.ts";
import { OrgError } from "../errors/org-error.ts";

/** A request web_fetch or web_request will not make, or could not finish; the message says why and what to do. */
export class PublicHttpRefusedError extends OrgError {
  override name = "PublicHttpRefusedError";
}

/** Host name → its addresses (all of them). Injectable so tests can play a hostile DNS. */
export type Resolver = (hostname: string, signal: AbortSignal) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await (await import("node:dns/promises")).lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** How the web tools reach a public server; only code sets the test hooks (`ports`, `treatAsPublic`, `ca`), never the config. */
export type PublicHttpOptions = {
  resolver?: Resolver;
  /** Ports a URL may name (default 80 and 443). Only code sets this, never the config or environment. */
  ports?: readonly number[];
  /**
   * Addresses taken as public although they are not. Only tests pass this (to reach servers on 127.0.0.1); the
   * config and the environment cannot.
   */
  treatAsPublic?: ReadonlySet<string>;
  /** Extra CA certificates to trust for https (tests' self-signed servers). */
  ca?: string;
  signal: AbortSignal;
};

/** One request's limits and who makes it: the tool's name (in messages), its deadline, the body bound, the host rule. */
export type PublicHttpLimits = {
  tool: string;
  timeoutS: number;
  /** Bytes of the answer's body read at most; the rest is cut (`truncated`). */
  maxBytes: number;
  /** Refuses (throws PublicHttpRefusedError) a host the tool may not reach; called for every hop. */
  checkHost(host: string): void;
  /**
   * Refuses (throws PublicHttpRefusedError) a request that may not go out as prepared (web_fetch: a secret in it);
   * called for every hop before its host is resolved.
   */
  inspect?(prepared: PreparedRequest): void;
};

/** What is sent: the method, extra headers (checked by the caller), a body, and whether redirects are followed (GET only). */
export type PublicHttpRequest = { method: string; headers?: readonly [string, string][]; body?: Buffer; followRedirects: boolean };

export type PublicHttpResult = {
  finalUrl: string;
  status: number;
  contentType: string;
  contentEncoding: string;
  body: Buffer;
  truncated: boolean;
  redirects: number;
  /** A redirect that was not followed (a non-GET request): where it pointed. */
  location?: string;
};

type Settings = PublicHttpOptions & PublicHttpLimits;

/** A body as text, in the charset its content type names (UTF-8 when it names none or one the runtime lacks). */
export function bodyText(body: Buffer, contentType: string): string {
  const charset = /charset="?([\w-]+)/i.exec(contentType)?.[1] ?? "utf-8";
  try {
    return new TextDecoder(charset as "utf-8").decode(body);
  } catch {
    return new TextDecoder("utf-8").decode(body);
  }
}

const MAX_REDIRECTS = 3;
const MAX_HEADER_BYTES = 64 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Whether `host` (lowercase, no trailing dot) is listed: exactly, under a `*.` entry, or by `*`. */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((entry) => entry === "*" || entry === host || (entry.startsWith("*.") && host.endsWith(entry.slice(1))));
}

/** The URL checked for everything but its addresses: scheme, credentials, port, the host rule. */
export function checkUrl(text: string, options: Pick<Settings, "tool" | "ports" | "checkHost">): { url: URL; host: string; port: number } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PublicHttpRefusedError(`"${text.slice(0, 200)}" is not a URL; give an absolute http:// or https:// URL.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new PublicHttpRefusedError(`only http:// and https:// URLs are reached, not ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new PublicHttpRefusedError(
      `URLs with credentials (user@host or user:password@host) are refused; ${options.tool} sends no credentials in a URL.`,
    );
  }
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  const ports = options.ports ?? [80, 443];
  if (!ports.includes(port))
    throw new PublicHttpRefusedError(`port ${port} is refused; ${options.tool} reaches web servers on ports ${ports.join(" and ")} only.`);
  // URL already turned decimal, octal, hex and short IPv4 spellings (2130706433, 0x7f.1, 127.1) into dotted form.
  const host = url.hostname
    .toLowerCase()
    .replace(/\.$/, "")
    .replace(/^\[|\]$/g, "");
  if (host === "") throw new PublicHttpRefusedError("the URL has no host.");
  options.checkHost(host);
  return { url, host, port };
}

/** `work`, or a refusal when the fetch's deadline passes first (the system resolver cannot be cancelled). */
function withDeadline<T>(work: Promise<T>, options: Settings): Promise<T> {
  const { signal } = options;
  if (signal.aborted) return Promise.reject(new PublicHttpRefusedError(`the request took longer than ${options.timeoutS} s and was stopped.`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PublicHttpRefusedError(`the request took longer than ${options.timeoutS} s and was stopped.`));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Every address of `host` checked; returns the one to connect to. One resolution per hop, never a second. */
async function checkedAddress(host: string, options: Settings): Promise<string> {
  const { isIP }: typeof import("node:net") = process.getBuiltinModule("node:net");
  const addresses = isIP(host)
    ? [host]
    : await withDeadline((options.resolver ?? systemResolver)(host, options.signal), options).catch((error: unknown) => {
        if (error instanceof PublicHttpRefusedError) throw error;
        throw new PublicHttpRefusedError(`${host} does not resolve (${error instanceof Error ? error.message : String(error)}).`);
      });
  const [first] = addresses;
  if (first === undefined) throw new PublicHttpRefusedError(`${host} has no address.`);
  for (const address of addresses) {
    if (options.treatAsPublic?.has(address)) continue;
    const why = refusedAddressReason(address);
    if (why !== undefined)
      throw new PublicHttpRefusedError(`${host} resolves to ${address}, which is ${why}; ${options.tool} reaches public addresses only.`);
  }
  return first;
}

/** Reads a socket chunk by chunk, with what was read but not yet used kept aside. */
class SocketReader {
  #iterator: AsyncIterator<Buffer>;
  buffered: Buffer = Buffer.alloc(0);
  ended = false;
  constructor(socket: Socket) {
    this.#iterator = socket[Symbol.asyncIterator]();
  }
  /** Reads one more chunk into `buffered`; false at the end of the stream. */
  async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.buffered = Buffer.concat([this.buffered, next.value]);
    return true;
  }
  take(length: number): Buffer {
    const taken = this.buffered.subarray(0, length);
    this.buffered = this.buffered.subarray(length);
    return taken;
  }
}

type Head = { status: number; headers: Map<string, string> };

async function readHead(reader: SocketReader): Promise<Head> {
  for (;;) {
    const end = reader.buffered.indexOf("\r\n\r\n");
    if (end !== -1) {
      const lines = reader
        .take(end + 4)
        .toString("latin1")
        .split("\r\n");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
      if (!status) throw new PublicHttpRefusedError("the server did not answer with HTTP/1.x.");
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
      }
      return { status: Number(status[1]), headers };
    }
    if (reader.buffered.length > MAX_HEADER_BYTES) throw new PublicHttpRefusedError("the server's headers are larger than 64 KiB.");
    if (!(await reader.more())) throw new PublicHttpRefusedError("the server closed the connection before its headers ended.");
  }
}

/** The body, at most `max` bytes (then `truncated`), by Content-Length, chunked encoding or to the end. */
async function readBody(reader: SocketReader, head: Head, max: number): Promise<{ body: Buffer; truncated: boolean }> {
  const parts: Buffer[] = [];
  let size = 0;
  const add = (chunk: Buffer): boolean => {
    const room = max - size;
    parts.push(chunk.subarray(0, room));
    size += Math.min(chunk.length, room);
    return chunk.length > room;
  };
  const done = (truncated: boolean) => ({ body: Buffer.concat(parts), truncated });
  if (/\bchunked\b/i.test(head.headers.get("transfer-encoding") ?? "")) {
    for (;;) {
      let line = reader.buffered.indexOf("\r\n");
      while (line === -1) {
        if (reader.buffered.length > 1024) throw new PublicHttpRefusedError("the server sent a malformed chunked body.");
        if (!(await reader.more())) return done(false);
        line = reader.buffered.indexOf("\r\n");
      }
      const length = Number.parseInt(reader.take(line + 2).toString("latin1"), 16);
      if (!Number.isFinite(length) || length < 0) throw new PublicHttpRefusedError("the server sent a malformed chunked body.");
      if (length === 0) return done(false);
      let left = length;
      while (left > 0) {
        if (reader.buffered.length === 0 && !(await reader.more())) return done(false);
        const chunk = reader.take(left);
        left -= chunk.length;
        if (add(chunk)) return done(true);
      }
      while (reader.buffered.length < 2) if (!(await reader.more())) return done(false);
      reader.take(2);
    }
  }
  const declared = head.headers.has("content-length") ? Number(head.headers.get("content-length")) : undefined;
  let left = declared !== undefined && Number.isFinite(declared) ? declared : Number.POSITIVE_INFINITY;
  for (;;) {
    if (reader.buffered.length > 0) {
      const chunk = reader.take(Math.min(reader.buffered.length, left));
      left -= chunk.length;
      if (add(chunk)) return done(true);
    }
    if (left <= 0 || !(await reader.more())) return done(false);
  }
}

async function open(url: URL, address: string, port: number, options: Settings): Promise<Socket> {
  // node:net and node:tls (which loads node:crypto) when a tool first connects, not at every start of org.
  const { isIP, connect: netConnect }: typeof import("node:net") = process.getBuiltinModule("node:net");
  const tls = url.protocol === "https:" ? await import("node:tls") : undefined;
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    // The connection goes to the checked address; TLS names the host (SNI) and checks its certificate for it.
    const socket: Socket = tls
      ? tls.connect({
          host: address,
          port,
          ...(isIP(url.hostname.replace(/^\[|\]$/g, "")) ? {} : { servername: url.hostname }),
          ...(options.ca ? { ca: options.ca } : {}),
          rejectUnauthorized: true,
          ALPNProtocols: ["http/1.1"],
        })
      : netConnect({ host: address, port });
    // A destroyed socket emits no error: the deadline must reject the wait itself (a handshake that never ends).
    const onAbort = () => {
      socket.destroy();
      reject(new PublicHttpRefusedError(`the request took longer than ${options.timeoutS} s and was stopped.`));
    };
    socket.once("error", onError);
    socket.once(url.protocol === "https:" ? "secureConnect" : "connect", () => {
      socket.off("error", onError);
      options.signal.removeEventListener("abort", onAbort);
      resolve(socket);
    });
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A request as it goes on the wire: the method, the URL, the request line's target, every header in order, the body. */
export type PreparedRequest = {
  method: string;
  url: URL;
  target: string;
  headers: readonly (readonly [string, string])[];
  body?: Buffer;
};

// RFC 9110: a method and a header name are tokens; a field value is visible ASCII, spaces and tabs (obs-text refused).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const REQUEST_TARGET = /^[\x21-\x7e]+$/;

/** Why a method, header name or value cannot be written as it is, naming the offending character; undefined when it can. */
export function unwritable(kind: "method" | "target" | "name" | "value", text: string): string | undefined {
  const pattern = kind === "value" ? FIELD_VALUE : kind === "target" ? REQUEST_TARGET : TOKEN;
  if (pattern.test(text)) return undefined;
  if (text === "") return "is empty";
  const bad = [...text].find((character) => !pattern.test(character)) ?? "";
  const code = bad.codePointAt(0) ?? 0;
  const shown = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return kind === "value"
    ? `holds ${shown}; a header value is visible ASCII, spaces and tabs only (no line breaks, controls or non-ASCII)`
    : kind === "target"
      ? `holds ${shown}; the request line takes visible ASCII only`
      : `holds ${shown}; a ${kind === "method" ? "method" : "header name"} is letters, digits and !#$%&'*+.^_\`|~- only`;
}

const header = (name: string, value: string): [string, string] => [name, value];

/**
 * The request as it will be sent: org's own headers (Host, User-Agent, Accept unless given, Accept-Encoding: identity,
 * Connection: close), the caller's, and a length for a body. Pure: the list a person is shown is the list written.
 */
export function prepareRequest(url: URL, request: Omit<PublicHttpRequest, "followRedirects">, tool: string): PreparedRequest {
  const given = request.headers ?? [];
  const has = (name: string) => given.some(([key]) => key.toLowerCase() === name);
  const headers: [string, string][] = [
    ["Host", url.host],
    ["User-Agent", `org-${tool.replaceAll("_", "-")}/1`],
    ...(has("accept") ? [] : [header("Accept", "*/*")]),
    // No compression: its size would not be the body's.
    ["Accept-Encoding", "identity"],
    ["Connection", "close"],
    ...given.map(([name, value]): [string, string] => [name, value]),
    ...(request.body !== undefined ? [header("Content-Length", String(request.body.length))] : []),
  ];
  return { method: request.method, url, target: `${url.pathname || "/"}${url.search}`, headers, ...(request.body ? { body: request.body } : {}) };
}

/**
 * The bytes of a prepared request. Refuses (throws) a method, target, header name or value that is not what RFC 9110
 * allows: every unit is ASCII before it becomes a byte, so no character outside it can turn into CR, LF or NUL on the wire.
 */
export function requestBytes(prepared: PreparedRequest): Buffer {
  const checks: [Parameters<typeof unwritable>[0], string, string][] = [
    ["method", prepared.method, "the method"],
    ["target", prepared.target, "the URL's path and query"],
    ...prepared.headers.flatMap(([name, value]): [Parameters<typeof unwritable>[0], string, string][] => [
      ["name", name, `the header name ${JSON.stringify(name.slice(0, 100))}`],
      ["value", value, `the ${name.slice(0, 100)} header's value`],
    ]),
  ];
  for (const [kind, text, where] of checks) {
    const why = unwritable(kind, text);
    if (why !== undefined) throw new PublicHttpRefusedError(`${where} ${why}; nothing was sent.`);
  }
  const lines = [`${prepared.method} ${prepared.target} HTTP/1.1`, ...prepared.headers.map(([name, value]) => `${name}: ${value}`), "", ""];
  return Buffer.concat([Buffer.from(lines.join("\r\n"), "latin1"), prepared.body ?? Buffer.alloc(0)]);
}

/** One request to one URL (no redirects): connect to the checked address, send the request, read head and body. */
async function requestOnce(
  prepared: PreparedRequest,
  target: { address: string; port: number },
  options: Settings,
): Promise<{ head: Head; body: Buffer; truncated: boolean }> {
  // The bytes are made (and refused) before any connection is opened.
  const bytes = requestBytes(prepared);
  const socket = await open(prepared.url, target.address, target.port, options);
  const onAbort = () => socket.destroy();
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    socket.write(bytes);
    const reader = new SocketReader(socket);
    let head = await readHead(reader);
    while (head.status >= 100 && head.status < 200) head = await readHead(reader);
    if (REDIRECT_STATUSES.has(head.status)) return { head, body: Buffer.alloc(0), truncated: false };
    const { body, truncated } = await readBody(reader, head, options.maxBytes);
    // A destroyed socket may read as a clean end: a body cut by the deadline is not a whole answer.
    if (options.signal.aborted) throw new PublicHttpRefusedError(`the request took longer than ${options.timeoutS} s and was stopped.`);
    return { head, body, truncated };
  } catch (error) {
    if (options.signal.aborted) throw new PublicHttpRefusedError(`the request took longer than ${options.timeoutS} s and was stopped.`);
    throw error;
  } finally {
    options.signal.removeEventListener("abort", onAbort);
    socket.destroy();
  }
}

/** One hop's answer: the status, the headers that matter, the body read, and where a redirect pointed. */
type HopAnswer = Omit<PublicHttpResult, "redirects" | "location"> & { location?: string };

/**
 * One prepared request to a public URL, no redirect followed: its URL checked (scheme, no credentials, port, the tool's
 * host rule), `inspect` asked (before any name is resolved: a name is sent out too), the host resolved once and every
 * address checked, the connection made to that address, the very bytes of `prepared` written.
 */
export async function sendPrepared(prepared: PreparedRequest, options: Settings): Promise<HopAnswer> {
  const { host, port } = checkUrl(prepared.url.href, options);
  options.inspect?.(prepared);
  const address = await checkedAddress(host, options);
  let answer: Awaited<ReturnType<typeof requestOnce>>;
  try {
    answer = await requestOnce(prepared, { address, port }, options);
  } catch (error) {
    if (error instanceof PublicHttpRefusedError) throw error;
    if (options.signal.aborted) throw new PublicHttpRefusedError(`the request took longer than ${options.timeoutS} s and was stopped.`);
    throw new PublicHttpRefusedError(`could not fetch ${prepared.url.origin}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const location = answer.head.headers.get("location");
  return {
    finalUrl: prepared.url.href,
    status: answer.head.status,
    contentType: answer.head.headers.get("content-type") ?? "",
    contentEncoding: (answer.head.headers.get("content-encoding") ?? "").toLowerCase(),
    body: answer.body,
    truncated: answer.truncated,
    ...(REDIRECT_STATUSES.has(answer.head.status) && location !== undefined ? { location } : {}),
  };
}

/**
 * One request to a public URL: each hop prepared and sent by `sendPrepared`. Redirects are followed (at most 3, each hop
 * checked again) only when `request.followRedirects`; otherwise a redirect is the answer, with its `location`.
 */
export async function publicHttpRequest(text: string, request: PublicHttpRequest, options: Settings): Promise<PublicHttpResult> {
  let current = text;
  for (let redirects = 0; ; redirects++) {
    const { url } = checkUrl(current, options);
    const { location, ...answer } = await sendPrepared(prepareRequest(url, request, options.tool), options);
    const result = { ...answer, redirects };
    if (location === undefined) return result;
    if (!request.followRedirects) return { ...result, location: location.slice(0, 2_000) };
    if (redirects >= MAX_REDIRECTS)
      throw new PublicHttpRefusedError(
        `more than ${MAX_REDIRECTS} redirects (the last to ${location.slice(0, 200)}); fetch the final URL directly if it is right.`,
      );
    current = URL.canParse(location, url.href) ? new URL(location, url.href).href : location;
  }
}
