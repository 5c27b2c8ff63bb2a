/**
 * The browser's session: a cookie made from the server's token (an HMAC of a fixed label under it), so it holds as
 * long as the token does and a restart with the same ORG_API_TOKEN keeps the browser logged in. Its name carries a
 * hash of the token too, so two servers on one host (cookies ignore ports) keep their own.
 *
 * Cookies ignore ports, so a listener on another port of the host that the browser visits gets the cookie too. Beside
 * it the page holds a key of its own origin (another HMAC under the token, handed over in the login's redirect as the
 * address's fragment, which no server sees, and kept in the origin's storage): every request but the page's shell
 * and its bundle needs both, and an event stream, which cannot carry a header, needs a short-lived ticket the page
 * asks for with its key. A replayed cookie alone opens nothing but the shell.
 */
export type SessionCookie = { name: string; value: string };

/** A new login token for `org web`: 32 random bytes, URL-safe. */
export function newLoginToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/** The session cookie a browser gets for `token`. */
export function sessionCookieFor(token: string): SessionCookie {
  const name = `org_session_${new Bun.CryptoHasher("sha256").update(`org web cookie name\n${token}`).digest("hex").slice(0, 12)}`;
  const value = new Bun.CryptoHasher("sha256", token).update("org web session v1").digest("base64url");
  return { name, value };
}

/** `Set-Cookie` for the session: HttpOnly (no script reads it), SameSite=Strict, for the whole origin, until the browser closes. */
export function setCookieHeader(cookie: SessionCookie): string {
  return `${cookie.name}=${cookie.value}; Path=/; HttpOnly; SameSite=Strict`;
}

/** How long a stream ticket opens streams (an EventSource's reconnects within it reuse it; the page asks again later). */
export const STREAM_TICKET_MS = 60_000;

/** The page's key for `token`: what the page sends in `x-org-page-key` beside the cookie. */
export function pageKeyFor(token: string): string {
  return new Bun.CryptoHasher("sha256", token).update("org web page key v1").digest("base64url");
}

/** Whether two texts are equal, compared over their digests in constant time; an empty `given` never is. */
function sameText(given: string, expected: string): boolean {
  const digest = (text: string) => new Bun.CryptoHasher("sha256").update(text, "utf8").digest();
  return crypto.timingSafeEqual(digest(given), digest(expected)) && given.length > 0;
}

/** Whether a request's `x-org-page-key` is the page's key of `token`. */
export function pageKeyMatches(header: string | null, token: string): boolean {
  return sameText(header ?? "", pageKeyFor(token));
}

function ticketMac(token: string, expiresAt: number): string {
  return new Bun.CryptoHasher("sha256", token).update(`org web stream ticket v1\n${expiresAt}`).digest("base64url");
}

/** A stream ticket of `token` good until `now + STREAM_TICKET_MS`: `<expiry ms>.<HMAC>`, nothing kept on the server. */
export function streamTicketFor(token: string, now: number): string {
  const expiresAt = now + STREAM_TICKET_MS;
  return `${expiresAt}.${ticketMac(token, expiresAt)}`;
}

/** Whether `ticket` is a stream ticket of `token` that has not expired at `now` (nor ends further away than one can). */
export function streamTicketValid(ticket: string | null, token: string, now: number): boolean {
  const [, expiry = "0", mac = ""] = /^(\d{1,16})\.([\w-]+)$/.exec(ticket ?? "") ?? [];
  const expiresAt = Number(expiry);
  const fresh = expiresAt > now && expiresAt <= now + STREAM_TICKET_MS;
  return sameText(mac, ticketMac(token, expiresAt)) && fresh;
}

/** Whether a `Cookie` header carries the session cookie of `token`, compared in constant time. */
export function cookieMatches(header: string | null, token: string): boolean {
  const expected = sessionCookieFor(token);
  let given = "";
  for (const part of (header ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === expected.name) given = rest.join("=");
  }
  return sameText(given, expected.value);
}
