import { HttpError } from "./http-error.ts";
import { bodyTooLarge, CLOSE_CONNECTION, readBoundedBody } from "./read-bounded-body.ts";
import { SeenSignatures } from "./seen-signatures.ts";
import { UnsignedBodies } from "./unsigned-bodies.ts";

export const TIMESTAMP_HEADER = "x-org-timestamp";
export const SIGNATURE_HEADER = "x-org-signature";
/** Optional: the body's SHA-256 (hex), so the signature covers the headers alone and is checked before the body is read. */
export const CONTENT_DIGEST_HEADER = "x-org-content-sha256";

/**
 * The signature of a request: HMAC-SHA256 with the shared secret over `METHOD\nPATH\nTIMESTAMP\n` and the
 * body's bytes, as lowercase hex. PATH is the path with its query string; TIMESTAMP Unix seconds.
 */
export function requestSignature(secret: string, method: string, path: string, timestamp: string, body: Uint8Array): string {
  return new Bun.CryptoHasher("sha256", secret).update(`${method.toUpperCase()}\n${path}\n${timestamp}\n`).update(body).digest("hex");
}

/**
 * The signature of a request that names its body's digest (`x-org-content-sha256`): HMAC-SHA256 over
 * `METHOD\nPATH\nTIMESTAMP content-sha256=DIGEST\n`. The third line is never digits alone, as it is in
 * `requestSignature`'s text, so neither kind of signature can be passed off as the other.
 */
export function digestSignature(secret: string, method: string, path: string, timestamp: string, digest: string): string {
  return new Bun.CryptoHasher("sha256", secret).update(`${method.toUpperCase()}\n${path}\n${timestamp} content-sha256=${digest}\n`).digest("hex");
}

function sha256Hex(body: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(body).digest("hex");
}

/** The headers that sign a request: `x-org-timestamp` and `x-org-signature: sha256=<hex>`. */
export function signatureHeaders(secret: string, method: string, path: string, body: string | Uint8Array, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `sha256=${requestSignature(secret, method, path, timestamp, bytes)}` };
}

/** The headers that sign a request by its body's digest: `x-org-timestamp`, `x-org-content-sha256` and `x-org-signature`. */
export function digestSignatureHeaders(
  secret: string,
  method: string,
  path: string,
  body: string | Uint8Array,
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const digest = sha256Hex(typeof body === "string" ? new TextEncoder().encode(body) : body);
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [CONTENT_DIGEST_HEADER]: digest,
    [SIGNATURE_HEADER]: `sha256=${digestSignature(secret, method, path, timestamp, digest)}`,
  };
}

function sameHex(expected: string, given: string): boolean {
  return crypto.timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(given, "hex"));
}

/** Whether the request has a body: a stream to read (Bun gives none without one), a Content-Length above 0, or a Transfer-Encoding. */
function carriesBody(request: Request): boolean {
  return request.body !== null || request.headers.has("transfer-encoding") || Number(request.headers.get("content-length") ?? 0) !== 0;
}

function refuse(message: string): HttpError {
  return new HttpError(401, message, { "www-authenticate": 'Bearer realm="org"', ...CLOSE_CONNECTION });
}

function replayed(): HttpError {
  return refuse("this signed request was already received (a replay); sign each request anew.");
}

/** How long a signed request's body may take to arrive, and how many such bodies one client may send at once. */
export type SignedBodyLimits = { bodyTimeoutS: number; bodiesPerClient: number };

/** `SignedBodyLimits` when the environment sets none (ORG_API_HMAC_BODY_TIMEOUT_S, ORG_API_HMAC_BODIES_PER_CLIENT). */
export const SIGNED_BODY_DEFAULTS: SignedBodyLimits = { bodyTimeoutS: 10, bodiesPerClient: 8 };

/** Bodies read before their signature is checked, from all clients at once; past it the next is 429. */
const UNSIGNED_BODIES_TOTAL = 256;

/**
 * Checks signed requests: the signature must match, the timestamp be within `ttlS` seconds of now (either
 * way), and the signature not seen before within that time (a replay), by this process or an earlier one
 * on the same workspace (`seen` keeps them on disk). Everything the headers tell is checked before a byte of the
 * body is read, since anybody can send one: the headers' form, the timestamp's window, a replay, the declared
 * length, and with `x-org-content-sha256` the signature itself. A body is read within `bodyTimeoutS` (408 and the
 * connection closed past it). A body whose signature can only be checked once it is read (no digest header) takes one
 * of `bodiesPerClient` places of its client (429 past it); a request without a body, or whose headers' signature
 * matched, takes none. Returns the request with its body still readable.
 */
export class SignatureCheck {
  readonly seen: SeenSignatures;
  readonly bodies: UnsignedBodies;

  constructor(
    readonly secret: string,
    readonly ttlS: number,
    readonly now: () => number = Date.now,
    seen?: SeenSignatures,
    readonly limits: SignedBodyLimits = SIGNED_BODY_DEFAULTS,
  ) {
    this.seen = seen ?? new SeenSignatures({});
    this.bodies = new UnsignedBodies({ perClient: limits.bodiesPerClient, total: Math.max(UNSIGNED_BODIES_TOTAL, limits.bodiesPerClient) });
  }

  /** The request, its body read (at most `maxBytes`, else 413) so the signature covers it; `client` the peer's address. */
  async verify(request: Request, maxBytes: number, client?: string): Promise<Request> {
    const timestamp = request.headers.get(TIMESTAMP_HEADER) ?? "";
    const given = /^sha256=([0-9a-f]{64})$/i.exec(request.headers.get(SIGNATURE_HEADER) ?? "")?.[1]?.toLowerCase();
    if (!/^\d{1,12}$/.test(timestamp) || given === undefined) {
      throw refuse(
        `a signed request carries ${TIMESTAMP_HEADER} (Unix seconds) and ${SIGNATURE_HEADER}: sha256=<64 hex digits: the ` +
          `HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nBODY>.`,
      );
    }
    const digestHeader = request.headers.get(CONTENT_DIGEST_HEADER);
    const digest = digestHeader === null ? undefined : /^[0-9a-f]{64}$/i.exec(digestHeader)?.[0]?.toLowerCase();
    if (digestHeader !== null && digest === undefined) {
      throw refuse(`${CONTENT_DIGEST_HEADER} is the body's SHA-256 as 64 hex digits; send that, or leave the header out.`);
    }
    const now = this.now();
    if (Math.abs(now / 1000 - Number(timestamp)) > this.ttlS) {
      throw refuse(`the signed request is older than ${this.ttlS} s (ORG_API_HMAC_TTL_S) or from the future; sign it again with the current time.`);
    }
    // A cheap first look; the one that counts is the claim below, once the signature is known to be the server's.
    if (this.seen.has(given, now)) throw replayed();
    if (Number(request.headers.get("content-length") ?? 0) > maxBytes) throw bodyTooLarge(maxBytes);
    const url = new URL(request.url);
    const path = `${url.pathname}${url.search}`;
    let body: Uint8Array;
    if (digest !== undefined) {
      // The headers are signed: a forged request is refused here, before a byte of its body is read.
      if (!sameHex(digestSignature(this.secret, request.method, path, timestamp, digest), given)) {
        throw refuse(
          `the request signature does not match; sign METHOD\\nPATH\\nTIMESTAMP content-sha256=DIGEST\\n with the server's ` +
            `ORG_API_HMAC_SECRET (DIGEST the ${CONTENT_DIGEST_HEADER} header).`,
        );
      }
      body = carriesBody(request) ? await this.#read(request, maxBytes) : new Uint8Array();
      if (!sameHex(sha256Hex(body), digest)) {
        throw refuse(`the body's SHA-256 is not the ${CONTENT_DIGEST_HEADER} that was signed; send the body that was signed.`);
      }
    } else {
      body = carriesBody(request) ? await this.#readUnsigned(request, maxBytes, client) : new Uint8Array();
      if (!sameHex(requestSignature(this.secret, request.method, path, timestamp, body), given)) {
        throw refuse("the request signature does not match; sign METHOD\\nPATH\\nTIMESTAMP\\nBODY with the server's ORG_API_HMAC_SECRET.");
      }
    }
    // Checked and remembered (on disk, before the request runs) in one step with no await between, so copies of one
    // request whose bodies arrive together pass once; remembered for as long as its timestamp is accepted.
    if (!this.seen.claim(given, (Number(timestamp) + this.ttlS + 1) * 1000, this.now())) throw replayed();
    return new Request(request.url, {
      method: request.method,
      headers: request.headers,
      ...(body.byteLength > 0 ? { body } : {}),
      signal: request.signal,
    });
  }

  /** A body whose sender is not known yet: it holds one of its client's places while it is read. */
  async #readUnsigned(request: Request, maxBytes: number, client: string | undefined): Promise<Uint8Array> {
    const leave = this.bodies.enter(client);
    try {
      return await this.#read(request, maxBytes);
    } finally {
      leave();
    }
  }

  #read(request: Request, maxBytes: number): Promise<Uint8Array> {
    return readBoundedBody(request, maxBytes, {
      ms: this.limits.bodyTimeoutS * 1000,
      message:
        `the body did not arrive within ${this.limits.bodyTimeoutS} s (ORG_API_HMAC_BODY_TIMEOUT_S); ` +
        "send the whole request at once, and sign it again.",
    });
  }
}
