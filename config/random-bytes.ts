/** `n` random bytes from the system's CSPRNG, as node:crypto's randomBytes gives them, without loading node:crypto. */
export function randomBytes(n: number): Buffer {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n)));
}
