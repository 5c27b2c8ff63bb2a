import { closeSync, constants, fsyncSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ensurePrivateDir, openPrivateFile, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { HttpError } from "./http-error.ts";
import { SERVE_STATE_DIR } from "./jobs-log.ts";
import { errorCode } from "../concurrency/error-code.ts";

const { O_WRONLY, O_APPEND } = constants;

/** Where the signatures serve received are kept until their timestamp is no longer accepted. */
export const SEEN_SIGNATURES_FILE = "seen-signatures";

const LINE = /^(\d{1,16}) ([0-9a-f]{64})$/;

export type SeenSignaturesOptions = {
  /** The workspace whose `.org/serve/seen-signatures` keeps them; without it they live in memory only. */
  workspaceDir?: string;
  /** Signatures remembered at once; past it (all still within their time) a signed request is 429. */
  maxEntries?: number;
  /** Lines of file past which, when most are expired, it is rewritten with the live ones only. */
  compactAbove?: number;
  fsync?: boolean;
};

/**
 * The signatures already received, each until it expires, kept in `.org/serve/seen-signatures` (private
 * state: 0600 in a 0700 folder, no link followed) as `<expiresAtMs> <hex>` lines appended before the request
 * is answered. A restart reads them back, so a request replayed after it is still refused. Bounded: at most
 * `maxEntries`, and the file is rewritten with only the live ones when expired lines outnumber them.
 */
export class SeenSignatures {
  #seen = new Map<string, number>();
  #path: string | undefined;
  #fd: number | undefined;
  #lines = 0;
  readonly #maxEntries: number;
  readonly #compactAbove: number;

  constructor(
    readonly options: SeenSignaturesOptions,
    now = Date.now(),
  ) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#compactAbove = options.compactAbove ?? 1_024;
    if (options.workspaceDir === undefined) return;
    const dir = ensurePrivateDir(join(options.workspaceDir, SERVE_STATE_DIR));
    this.#path = join(dir, SEEN_SIGNATURES_FILE);
    let text = "";
    try {
      text = readPrivateFile(this.#path);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
    }
    for (const line of text.split("\n")) {
      // A line a crash cut short is skipped: its request was never answered.
      const found = LINE.exec(line);
      if (found && Number(found[1]) > now) this.#seen.set(found[2] as string, Number(found[1]));
    }
    // Start from a file with only the live ones (and no torn last line to append after).
    this.#compact();
  }

  /** Whether `signature` was received and has not expired yet. */
  has(signature: string, now = Date.now()): boolean {
    return (this.#seen.get(signature) ?? 0) > now;
  }

  /**
   * Records `signature` unless it is already live, in one synchronous step (no other request runs between the check and
   * the record): true when this call recorded it, false for a replay. 429 as `add`.
   */
  claim(signature: string, expiresAt: number, now = Date.now()): boolean {
    if (this.has(signature, now)) return false;
    this.add(signature, expiresAt, now);
    return true;
  }

  /** Records `signature` until `expiresAt` (ms), on disk before this returns; 429 when `maxEntries` are all still live. */
  add(signature: string, expiresAt: number, now = Date.now()): void {
    if (this.#seen.size >= this.#maxEntries) this.#prune(now);
    if (this.#seen.size >= this.#maxEntries) {
      const soonest = Math.min(...this.#seen.values());
      const retryS = Math.max(1, Math.ceil((soonest - now) / 1000));
      throw new HttpError(
        429,
        `${this.#seen.size} signed requests were received within ORG_API_HMAC_TTL_S, as many as this server ` +
          `remembers to refuse replays; retry in ${retryS} s.`,
        { "retry-after": String(retryS) },
      );
    }
    this.#seen.set(signature, expiresAt);
    if (this.#fd === undefined) return;
    writeSync(this.#fd, `${expiresAt} ${signature}\n`);
    if (this.options.fsync) fsyncSync(this.#fd);
    this.#lines += 1;
    if (this.#lines > this.#compactAbove && this.#lines > 2 * this.#seen.size) {
      this.#prune(now);
      this.#compact();
    } else if (this.#lines > this.#compactAbove && this.#lines % this.#compactAbove === 0) {
      // Expired ones are only found by looking: now and then, so a steady stream still compacts.
      this.#prune(now);
      if (this.#lines > 2 * this.#seen.size) this.#compact();
    }
  }

  /** Lines in the file now (for tests and the bench). */
  get lines(): number {
    return this.#lines;
  }

  get size(): number {
    return this.#seen.size;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #prune(now: number): void {
    for (const [signature, expiresAt] of this.#seen) if (expiresAt <= now) this.#seen.delete(signature);
  }

  #compact(): void {
    if (this.#path === undefined) return;
    writePrivateFile(this.#path, [...this.#seen].map(([signature, expiresAt]) => `${expiresAt} ${signature}\n`).join(""));
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = openPrivateFile(this.#path, O_WRONLY | O_APPEND);
    this.#lines = this.#seen.size;
  }
}
