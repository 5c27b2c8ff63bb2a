import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ensureFitnessDir, FITNESS_DIR, GateKeyError, gateKey, readRegularFile, signContent, verifyContent, writeSyncedTemporary } from "./gate-key.ts";

/** `.org/fitness/baseline.json`: scenario → the most passes main has reached; raised after each promotion, never lowered. */
export const BASELINE_FILE = join(FITNESS_DIR, "baseline.json");

const Baseline = z.strictObject({
  version: z.literal(1),
  scenarios: z.record(z.string(), z.number().int().min(0)),
  mainCommit: z.string(),
  updatedAt: z.iso.datetime(),
  mac: z.string().optional(),
});
export type FitnessBaseline = z.infer<typeof Baseline>;

/** The baseline this checkout's gate signed, or undefined when there is none yet; a file it did not sign is refused. */
export function readBaseline(repoDir: string): FitnessBaseline | undefined {
  const path = join(repoDir, BASELINE_FILE);
  const read = readRegularFile(path, 1024 * 1024);
  if (!read.ok) {
    if (read.errno === "ENOENT") return undefined;
    if (read.errno) throw new GateKeyError(`cannot open ${path} as a regular file (${read.errno}); remove it`);
    throw new GateKeyError(`${path} is not a regular file of at most 1 MiB; remove it`);
  }
  const { text } = read;
  let baseline: FitnessBaseline;
  try {
    baseline = Baseline.parse(JSON.parse(text));
  } catch (error) {
    throw new GateKeyError(`${path} is not a fitness baseline (${error instanceof Error ? error.message.split("\n")[0] : error}); remove it`);
  }
  const { mac, ...content } = baseline;
  const key = gateKey(repoDir, false);
  if (!key || !mac || !verifyContent(key, content, mac))
    throw new GateKeyError(`${path} was not written by this checkout's gate; remove it (the next promotion writes a new one)`);
  return baseline;
}

/** Raises the baseline to `passes` where they are higher (never lowers a count), signed; returns what was written. */
export function raiseBaseline(repoDir: string, passes: Record<string, number>, mainCommit: string): FitnessBaseline {
  let old: Record<string, number> = {};
  try {
    old = readBaseline(repoDir)?.scenarios ?? {};
  } catch {
    // A baseline this gate did not sign is not built upon; the new one starts from this promotion.
  }
  const scenarios: Record<string, number> = { ...old };
  for (const [name, count] of Object.entries(passes)) scenarios[name] = Math.max(scenarios[name] ?? 0, count);
  const content = Baseline.parse({ version: 1, scenarios, mainCommit, updatedAt: new Date().toISOString() });
  const signed = { ...content, mac: signContent(gateKey(repoDir, true) as Buffer, content) };
  const dir = ensureFitnessDir(repoDir);
  const temporary = writeSyncedTemporary(dir, ".baseline-", `${JSON.stringify(signed, null, 2)}\n`);
  try {
    renameSync(temporary, join(repoDir, BASELINE_FILE));
  } finally {
    rmSync(temporary, { force: true });
  }
  return signed;
}
