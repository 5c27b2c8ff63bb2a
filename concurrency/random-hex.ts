/**
 * `bytes` random bytes as hex: for names no two processes share (temp files, run folders, markers) and ids. From
 * `crypto.getRandomValues`, since loading `node:crypto` for `randomBytes` costs a process milliseconds of CPU.
 */
export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}
