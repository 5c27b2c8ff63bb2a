/** A response's status line and headers, as an HTTP/1.x server sent them. */
export type ResponseHead = { status: number; statusText: string; headers: Headers };

/** How the body after the head is framed: chunked, a length, until the connection closes, or none. */
export type BodyFraming = { kind: "chunked" } | { kind: "length"; bytes: number } | { kind: "close" } | { kind: "none" };

/** A response head org cannot read: the message says what the server sent. */
export class ResponseHeadError extends Error {
  override name = "ResponseHeadError";
}

/** The most a response head may take: a server that sends more is not a model server. */
export const MOST_HEAD_BYTES = 64 * 1024;

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/;

/**
 * Where the head in `bytes` ends (the index after its blank line, CRLF or bare LF), or -1 while it is incomplete.
 * Throws when `bytes` holds more than MOST_HEAD_BYTES without a blank line.
 */
export function headEnd(bytes: Uint8Array): number {
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) {
    if (bytes[at + 1] === 10) return at + 2;
    if (bytes[at + 1] === 13 && bytes[at + 2] === 10) return at + 3;
    if (at + 1 >= bytes.length) break;
  }
  if (bytes.length > MOST_HEAD_BYTES) throw new ResponseHeadError(`the server sent a response head over ${MOST_HEAD_BYTES / 1024} KiB`);
  return -1;
}

/** Reads a complete head (status line, header lines; its blank line may be left on). */
export function parseHead(text: string): ResponseHead {
  const [statusLine = "", ...lines] = text.split(/\r?\n/);
  const status = STATUS_LINE.exec(statusLine);
  if (!status) throw new ResponseHeadError(`the server did not answer with HTTP/1.1: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Headers();
  for (const line of lines) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ResponseHeadError(`the server sent a header line without a name: ${JSON.stringify(line.slice(0, 80))}`);
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      throw new ResponseHeadError(`the server sent a header org cannot read: ${JSON.stringify(line.slice(0, 80))}`);
    }
  }
  return { status: Number(status[1]), statusText: status[2] ?? "", headers };
}

/** How the body of a response to a POST with `head` is framed (RFC 9112, section 6.3). */
export function bodyFraming(head: ResponseHead): BodyFraming {
  if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return { kind: "none" };
  const coding = head.headers.get("transfer-encoding");
  if (coding !== null) return coding.split(",").at(-1)?.trim().toLowerCase() === "chunked" ? { kind: "chunked" } : { kind: "close" };
  const length = head.headers.get("content-length");
  if (length === null) return { kind: "close" };
  // Repeated headers arrive joined by commas; they must agree.
  const values = new Set(length.split(",").map((value) => value.trim()));
  const [only = ""] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(only))
    throw new ResponseHeadError(`the server sent an invalid content-length: ${JSON.stringify(length.slice(0, 40))}`);
  return { kind: "length", bytes: Number(only) };
}
