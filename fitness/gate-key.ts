import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson } from "../config/canonical-json.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, writeNewPrivateFile } from "../security/private-state.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { randomHex } from "../concurrency/random-hex.ts";
import { OrgError } from "../errors/org-error.ts";

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** `.org/fitness/`: the gate's reports and its key. */
export const FITNESS_DIR = join(ORG_DIR, "fitness");
/** The key the gate signs its reports with: 32 random bytes, hex, mode 0600, made on first use. */
export const GATE_KEY_FILE = join(FITNESS_DIR, "gate.key");
const KEY_HEX = /^[0-9a-f]{64}$/;

/** `.org/fitness/` or its key is not what the gate made (a link, another owner, looser than 0600); nothing is signed or trusted. */
export class GateKeyError extends OrgError {
  override name = "GateKeyError";
}

/** Makes `.org/fitness/` (a real directory, 0700) and returns it; refuses a link or a non-directory there. */
export function ensureFitnessDir(repoDir: string): string {
  return ensurePrivateDir(join(repoDir, FITNESS_DIR));
}

function readKey(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT") return undefined;
    throw new GateKeyError(`cannot open ${path} (${code}): it must be a regular file, not a link; remove it and run 'org fitness' again`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size !== 64)
      throw new GateKeyError(`${path} is not the gate's key (a 64-character regular file); remove it and run 'org fitness' again`);
    if ((stat.mode & 0o077) !== 0)
      throw new GateKeyError(`${path} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); remove it and run 'org fitness' again`);
    if (typeof process.getuid === "function" && stat.uid !== process.getuid())
      throw new GateKeyError(`${path} belongs to uid ${stat.uid}, not to you; remove it`);
    const buffer = Buffer.alloc(64);
    readSync(fd, buffer, 0, 64, 0);
    const hex = buffer.toString("utf8");
    if (!KEY_HEX.test(hex)) throw new GateKeyError(`${path} is not the gate's key; remove it and run 'org fitness' again`);
    return Buffer.from(hex, "hex");
  } finally {
    closeSync(fd);
  }
}

/**
 * The gate key of this checkout; made (0600, no links followed) when `create` and there is none yet: written whole and
 * linked into place, so another gate never reads half a key and a crash leaves none or all of it.
 */
export function gateKey(repoDir: string, create: boolean): Buffer | undefined {
  const path = join(repoDir, GATE_KEY_FILE);
  const found = readKey(path);
  if (found || !create) return found;
  ensureFitnessDir(repoDir);
  const hex = randomHex(32);
  // Another gate made it meanwhile: use that one.
  if (writeNewPrivateFile([path], hex, { durable: true }) === undefined) return readKey(path);
  return Buffer.from(hex, "hex");
}

/** HMAC-SHA256 (hex) of `content`'s canonical JSON under `key`. */
export function signContent(key: Buffer, content: unknown): string {
  return new Bun.CryptoHasher("sha256", key).update(canonicalJson(content)).digest("hex");
}

/** Whether `mac` is the signature of `content` under `key` (compared in constant time). */
export function verifyContent(key: Buffer, content: unknown, mac: string): boolean {
  const expected = Buffer.from(signContent(key, content), "hex");
  const given = /^[0-9a-f]{64}$/.test(mac) ? Buffer.from(mac, "hex") : Buffer.alloc(0);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/**
 * Reads `path` as a regular file of at most `maxBytes`, without following a link or blocking on a FIFO: its text,
 * or why not (`errno` when it could not be opened, e.g. ENOENT or ELOOP; none when it is no such regular file).
 */
export function readRegularFile(path: string, maxBytes: number): { ok: true; text: string } | { ok: false; errno?: string } {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    return { ok: false, errno: errorCode(error) ?? "unknown" };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > maxBytes) return { ok: false };
    return { ok: true, text: readFileSync(fd, "utf8") };
  } finally {
    closeSync(fd);
  }
}
