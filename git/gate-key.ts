import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, constants, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { errorCode } from "../concurrency/error-code.ts";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/** `.org/fitness/`: the gate's reports and its key. */
export const FITNESS_DIR = join(ORG_DIR, "fitness");
/** The key the gate signs its reports with: 32 random bytes, hex, mode 0600, made on first use. */
export const GATE_KEY_FILE = join(FITNESS_DIR, "gate.key");
const KEY_HEX = /^[0-9a-f]{64}$/;

/** `.org/fitness/` or its key is not what the gate made (a link, another owner, looser than 0600); nothing is signed or trusted. */
export class GateKeyError extends Error {
  override name = "GateKeyError";
  readonly userFacing = true;
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

/** The gate key of this checkout; made (O_EXCL, no links followed, 0600) when `create` and there is none yet. */
export function gateKey(repoDir: string, create: boolean): Buffer | undefined {
  const path = join(repoDir, GATE_KEY_FILE);
  const found = readKey(path);
  if (found || !create) return found;
  ensureFitnessDir(repoDir);
  const hex = randomBytes(32).toString("hex");
  let fd: number;
  try {
    fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (error) {
    // Another gate made it meanwhile: use that one.
    if (errorCode(error) === "EEXIST") return readKey(path);
    throw error;
  }
  try {
    writeSync(fd, hex);
  } finally {
    closeSync(fd);
  }
  return Buffer.from(hex, "hex");
}

/** JSON with object keys sorted at every level: the bytes a signature covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** HMAC-SHA256 (hex) of `content`'s canonical JSON under `key`. */
export function signContent(key: Buffer, content: unknown): string {
  return createHmac("sha256", key).update(canonicalJson(content)).digest("hex");
}

/** Whether `mac` is the signature of `content` under `key` (compared in constant time). */
export function verifyContent(key: Buffer, content: unknown, mac: string): boolean {
  const expected = Buffer.from(signContent(key, content), "hex");
  const given = /^[0-9a-f]{64}$/.test(mac) ? Buffer.from(mac, "hex") : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected);
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

/**
 * Writes `text` to a new file in `dir` (0600, O_EXCL, no link followed) and syncs it; returns its path. The
 * caller renames or links it into place and removes it afterwards.
 */
export function writeSyncedTemporary(dir: string, prefix: string, text: string): string {
  const temporary = join(dir, `${prefix}${process.pid}-${randomBytes(4).toString("hex")}`);
  const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temporary;
}
