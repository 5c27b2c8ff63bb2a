import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";

// How long each test file took in the last timed run of the suite (`npm run test:timings`), in the checkout running
// the gate, never the candidate's: it only decides which process runs which file.
const TIMINGS_FILE = join(CHECKOUT_DIR, "testing", "test-timings.json");
const Timings = z.object({ files: z.record(z.string(), z.number().nonnegative().finite()) });

/** The recorded durations by file; empty when the table is missing or unreadable (every file then weighs the same). */
export function recordedDurations(path = TIMINGS_FILE): Map<string, number> {
  try {
    return new Map(Object.entries(Timings.parse(JSON.parse(readFileSync(path, "utf8"))).files));
  } catch {
    return new Map();
  }
}

/**
 * The files dealt over `processes` shares, longest first onto the share with the least so far, so no process
 * ends long after the others. A file the table lacks weighs the median of those it has.
 */
export function dealByDuration(files: readonly string[], durations: ReadonlyMap<string, number>, processes: number): string[][] {
  const known = files.flatMap((file) => durations.get(file) ?? []).sort((a, b) => a - b);
  const fallback = known[Math.floor(known.length / 2)] ?? 1;
  const weight = (file: string) => durations.get(file) ?? fallback;
  const shares = Array.from({ length: Math.max(1, Math.min(processes, files.length)) }, () => ({ files: [] as string[], total: 0 }));
  for (const file of [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b))) {
    const lightest = shares.reduce((least, share) => (share.total < least.total ? share : least));
    lightest.files.push(file);
    lightest.total += weight(file);
  }
  return shares.map((share) => share.files.sort());
}
