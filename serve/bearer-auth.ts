/**
 * Whether an `Authorization` header carries `Bearer <token>`. Both sides are hashed first, so the compare
 * runs over equal-length digests in constant time and leaks neither the token's content nor its length.
 */
export function bearerMatches(header: string | null, token: string): boolean {
  const given = /^Bearer +(\S+) *$/i.exec(header ?? "")?.[1] ?? "";
  const digest = (text: string) => new Bun.CryptoHasher("sha256").update(text, "utf8").digest();
  // Always compare, even with no header, so a missing token takes as long as a wrong one.
  return crypto.timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}
