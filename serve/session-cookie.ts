/**
 * The browser's session: a cookie made from the server's token (an HMAC of a fixed label under it), so it holds as
 * long as the token does and a restart with the same ORG_API_TOKEN keeps the browser logged in. Its name carries a
 * hash of the token too, so two servers on one host (cookies ignore ports) keep their own.
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

/** Whether a `Cookie` header carries the session cookie of `token`, compared in constant time. */
export function cookieMatches(header: string | null, token: string): boolean {
  const expected = sessionCookieFor(token);
  let given = "";
  for (const part of (header ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === expected.name) given = rest.join("=");
  }
  const digest = (text: string) => new Bun.CryptoHasher("sha256").update(text, "utf8").digest();
  return crypto.timingSafeEqual(digest(given), digest(expected.value)) && given.length > 0;
}
