import { type Dirent, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { ensurePrivateDir, writePrivateFile } from "../security/private-state.ts";
import { ensureFitnessDir, gateKey, readRegularFile, signContent, verifyContent } from "./gate-key.ts";

const KEY = /^[0-9a-f]{64}$/;
const MAX_BYTES = 1024 * 1024;

/**
 * Writes `<repoDir>/<dir>/<key>.json`: `content` with `mac`, its signature under the checkout's gate key (made on
 * first use), in a private folder; then removes all but the newest `kept` records there. Throws when the key or the
 * folder cannot be used (a link, another owner, looser modes).
 */
export function writeSignedRecord(repoDir: string, dir: string, key: string, content: Record<string, unknown>, kept: number): void {
  if (!KEY.test(key)) throw new Error(`a record's key must be a sha256 in hex, got ${JSON.stringify(key.slice(0, 80))}`);
  // The folder is signed with the content, so a record of one kind never passes for another.
  const mac = signContent(gateKey(repoDir, true) as Buffer, { kind: dir, content });
  ensureFitnessDir(repoDir);
  const folder = ensurePrivateDir(join(repoDir, dir));
  writePrivateFile(join(folder, `${key}.json`), `${JSON.stringify({ ...content, mac }, null, 2)}\n`);
  for (const name of recordsNewestFirst(folder).slice(kept)) rmSync(join(folder, name), { force: true });
}

/** The record files of `folder`, newest first (by when each was written); none when the folder cannot be read. */
function recordsNewestFirst(folder: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile() && /^[0-9a-f]{64}\.json$/.test(entry.name))
    .map((entry) => ({ name: entry.name, time: statSync(join(folder, entry.name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.time - a.time)
    .map((entry) => entry.name);
}

/**
 * The record `<repoDir>/<dir>/<key>.json` as `schema` reads it, when this checkout's gate key signed it and it names
 * `key` itself; undefined otherwise: none, a link or no regular file, over 1 MiB, unsigned, signed by another key,
 * filed under another key, malformed.
 */
export function readSignedRecord<T extends { key: string }>(repoDir: string, dir: string, key: string, schema: z.ZodType<T>): T | undefined {
  if (!KEY.test(key)) return undefined;
  const read = readRegularFile(join(repoDir, dir, `${key}.json`), MAX_BYTES);
  if (!read.ok) return undefined;
  try {
    const gate = gateKey(repoDir, false);
    const { mac, ...content } = JSON.parse(read.text) as { mac?: unknown };
    if (!gate || typeof mac !== "string" || !verifyContent(gate, { kind: dir, content }, mac)) return undefined;
    const parsed = schema.safeParse(content);
    return parsed.success && parsed.data.key === key ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The records of `<repoDir>/<dir>/` that `readSignedRecord` takes, newest first, at most `most`. */
export function signedRecordsNewestFirst<T extends { key: string }>(repoDir: string, dir: string, schema: z.ZodType<T>, most: number): T[] {
  const found: T[] = [];
  for (const name of recordsNewestFirst(join(repoDir, dir))) {
    if (found.length >= most) break;
    const record = readSignedRecord(repoDir, dir, name.slice(0, 64), schema);
    if (record) found.push(record);
  }
  return found;
}
