import { statSync } from "node:fs";
import { formatBytes } from "../sandbox/run-watchdog.ts";
import { OrgError } from "../errors/org-error.ts";

/**
 * How many times its own size a backup's entries may declare. gzip makes about 1 000× of zeros; what org backs up
 * (transcripts, databases, a git bundle already packed) came to 39× in the benchmark of 10 000 sessions that repeat one
 * another (docs/benchmarks.md), and one transcript line repeated for 20 MiB to 147× at the writer's level 6.
 */
export const MAX_EXPANSION = 200;

/** What any backup may declare whatever its size: a small archive of repeated lines is no bomb. */
export const EXPANSION_FLOOR_BYTES = 16 * 1024 * 1024;

/** A backup whose entries declare far more than any backup org takes of its size: made to fill the disk, or altered. */
export class ImplausibleBackupError extends OrgError {
  override name = "ImplausibleBackupError";
}

/** A bound on what a backup's entries declare, and what to say past it. */
export type ExpansionBound = { bytes: number; refusal: (declared: number) => string };

function boundFor(path: string, archive: number, override: string): ExpansionBound {
  return {
    bytes: Math.max(EXPANSION_FLOOR_BYTES, archive * MAX_EXPANSION),
    refusal: (declared) =>
      `${path} is ${formatBytes(archive)} and its entries declare ${formatBytes(declared)} or more, ` +
      `${Math.floor(declared / Math.max(1, archive))}× its size; the backups org takes hold at most ${MAX_EXPANSION}× theirs ` +
      `(or ${formatBytes(EXPANSION_FLOOR_BYTES)}), so this one was made to fill the disk, or altered. Nothing was written. ` +
      `If you know where it came from and want it whole, ${override}.`,
  };
}

/**
 * The bound `checkBackup` holds a backup's declared sizes to (its `expansion` option): at most `MAX_EXPANSION` times the
 * archive's size, or `EXPANSION_FLOOR_BYTES`, whichever is more. `bytes` is measured by the file's size, so a pass can
 * stop as it reads; `consumed` gives the bound by the bytes the gzip stream took, checked once it has ended (and the
 * same, since a byte after the stream is refused). `override` is how the person lifts it (`--allow-large`).
 */
export function expansionLimit(path: string, override: string): ExpansionBound & { consumed: (compressedBytes: number) => ExpansionBound } {
  const archive = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  return { ...boundFor(path, archive, override), consumed: (compressedBytes) => boundFor(path, compressedBytes, override) };
}
