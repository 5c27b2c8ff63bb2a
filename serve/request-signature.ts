import { HttpError } from "./http-error.ts";
import { SeenSignatures } from "./seen-signatures.ts";

export const TIMESTAMP_HEADER = "x-org-timestamp";
export const SIGNATURE_HEADER = "x-org-signature";

/**
 * The signature of a request: HMAC-SHA256 with the shared secret over `METHOD\nPATH\nTIMESTAMP\n` and the
 * body's bytes, as lowercase hex. PATH is the path with its query string; TIMESTAMP Unix seconds.
 */
export function requestSignature(secret: string, method: string, path: string, timestamp: string, body: Uint8Array): string {
  return new Bun.CryptoHasher("sha256", secret).update(`${method.toUpperCase()}\n${path}\n${timestamp}\n`).update(body).digest("hex");
}

/** The headers that sign a request: `x-org-timestamp` and `x-org-signature: sha256=<hex>`. */
export function signatureHeaders(secret: string, method: string, path: string, body: string | Uint8Array, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `sha256=${requestSignature(secret, method, path, timestamp, bytes)}` };
}

async function boundedBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(413, `the body is larger than ${maxBytes} bytes; send less (the limit is serve.maxBodyBytes in org.config.json).`);
  if (Number(request.headers.get("content-length") ?? 0) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function refuse(message: string): HttpError {
  return new HttpError(401, message, { "www-authenticate": 'Bearer realm="org"' });
}

/**
 * Checks signed requests: the signature must match, the timestamp be within `ttlS` seconds of now (either
 * way), and the signature not seen before within that time (a replay), by this process or an earlier one
 * on the same workspace (`seen` keeps them on disk). Returns the request with its body still readable.
 */
export class SignatureCheck {
  readonly seen: SeenSignatures;

  constructor(
    readonly secret: string,
    readonly ttlS: number,
    readonly now: () => number = Date.now,
    seen?: SeenSignatures,
  ) {
    this.seen = seen ?? new SeenSignatures({});
  }

  /** The request, its body read (at most `maxBytes`, else 413) so the signature covers it. */
  async verify(request: Request, maxBytes: number): Promise<Request> {
    const timestamp = request.headers.get(TIMESTAMP_HEADER) ?? "";
    const given = /^sha256=([0-9a-f]{64})$/i.exec(request.headers.get(SIGNATURE_HEADER) ?? "")?.[1]?.toLowerCase();
    if (!/^\d{1,12}$/.test(timestamp) || given === undefined) {
      throw refuse(
        `a signed request carries ${TIMESTAMP_HEADER} (Unix seconds) and ${SIGNATURE_HEADER}: sha256=<hex ` +
          `HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nBODY>.`,
      );
    }
    const body = await boundedBody(request, maxBytes);
    const url = new URL(request.url);
    const expected = requestSignature(this.secret, request.method, `${url.pathname}${url.search}`, timestamp, body);
    if (!crypto.timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(given, "hex"))) {
      throw refuse("the request signature does not match; sign METHOD\\nPATH\\nTIMESTAMP\\nBODY with the server's ORG_API_HMAC_SECRET.");
    }
    const now = this.now();
    if (Math.abs(now / 1000 - Number(timestamp)) > this.ttlS) {
      throw refuse(`the signed request is older than ${this.ttlS} s (ORG_API_HMAC_TTL_S) or from the future; sign it again with the current time.`);
    }
    if (this.seen.has(given, now)) throw refuse("this signed request was already received (a replay); sign each request anew.");
    // Remembered (on disk, before the request runs) for as long as its timestamp is accepted.
    this.seen.add(given, (Number(timestamp) + this.ttlS + 1) * 1000, now);
    return new Request(request.url, {
      method: request.method,
      headers: request.headers,
      ...(body.byteLength > 0 ? { body } : {}),
      signal: request.signal,
    });
  }
}
