import { join } from "node:path";
import { z } from "zod";
import { writePrivateFile } from "../security/private-state.ts";
import { ensureFitnessDir, FITNESS_DIR, GateKeyError, gateKey, readRegularFile, signContent, verifyContent } from "./gate-key.ts";
import { PROMOTE_TAG_PATTERN } from "../git/ref-names.ts";

/**
 * `.org/fitness/baseline.json`: scenario → the most passes main has reached, and which promotions still in place
 * reached it. A promotion adds its counts; a rollback withdraws what was measured with the promotion it undoes; the
 * gate refuses a candidate below a count and names the promotion that set it.
 */
export const BASELINE_FILE = join(FITNESS_DIR, "baseline.json");
/** A tool's own scenario is named `tool <name>` (its examples on both instances). */
export const TOOL_SCENARIO_PREFIX = "tool ";
/** Entries kept a scenario, newest last: the oldest are the lowest (no promotion passes below the count), so only a floor is lost. */
const ENTRIES_KEPT = 12;

const Count = z.number().int().min(0);
const PromotionTag = z.string().regex(PROMOTE_TAG_PATTERN);
/** One promotion's count of a scenario; `by` absent: set before org noted which promotion set a count. */
const Entry = z.strictObject({ count: Count, by: PromotionTag.optional() });
const Promotion = z.strictObject({
  branch: z.string().max(100).optional(),
  merge: z.string().regex(/^[0-9a-f]{40,64}$/),
  /** The rollback that undid it; the counts it measured of what it did not change stay. */
  undoneBy: z.string().max(100).optional(),
});

const BaselineV1 = z.strictObject({
  version: z.literal(1),
  scenarios: z.record(z.string(), Count),
  mainCommit: z.string(),
  updatedAt: z.iso.datetime(),
  mac: z.string().optional(),
});
const BaselineV2 = z.strictObject({
  version: z.literal(2),
  /** What the gate checks: each scenario's count, the highest of its entries. */
  scenarios: z.record(z.string(), Count),
  /** Each scenario's entries, oldest first: the promotions still in place that reached a count of it. */
  setBy: z.record(z.string(), z.array(Entry).max(ENTRIES_KEPT)),
  /** The promotions the entries name: the branch merged and the merge. */
  promotions: z.record(z.string().regex(PROMOTE_TAG_PATTERN), Promotion),
  /** main when this was signed, and what moved it there ("promote/… merged cand/…", "rollback/… undid promote/…"). */
  mainCommit: z.string(),
  reason: z.string().max(1000),
  updatedAt: z.iso.datetime(),
  mac: z.string().optional(),
});
export type FitnessBaseline = z.infer<typeof BaselineV2>;
type Content = Omit<FitnessBaseline, "mac" | "updatedAt">;

const firstLine = (error: unknown) => (error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error));

/** The baseline this checkout's gate signed (a version 1 file read as one whose counts no promotion is named for), or undefined when there is none
 * yet; a file it did not sign is refused.
 */
export function readBaseline(repoDir: string): FitnessBaseline | undefined {
  const path = join(repoDir, BASELINE_FILE);
  const read = readRegularFile(path, 1024 * 1024);
  if (!read.ok) {
    if (read.errno === "ENOENT") return undefined;
    if (read.errno) throw new GateKeyError(`cannot open ${path} as a regular file (${read.errno}); remove it`);
    throw new GateKeyError(`${path} is not a regular file of at most 1 MiB; remove it`);
  }
  let parsed: z.infer<typeof BaselineV1> | FitnessBaseline;
  try {
    parsed = z.discriminatedUnion("version", [BaselineV1, BaselineV2]).parse(JSON.parse(read.text));
  } catch (error) {
    throw new GateKeyError(`${path} is not a fitness baseline (${firstLine(error)}); remove it`);
  }
  const { mac, ...content } = parsed;
  const key = gateKey(repoDir, false);
  if (!key || !mac || !verifyContent(key, content, mac))
    throw new GateKeyError(`${path} was not written by this checkout's gate; remove it (the next promotion writes a new one)`);
  if (parsed.version === 2) return parsed;
  const setBy = Object.fromEntries(Object.entries(parsed.scenarios).map(([name, count]) => [name, [{ count }]]));
  return { ...parsed, version: 2, setBy, promotions: {}, reason: "written before org noted which promotion set a count" };
}

/** The baseline to build on: the signed one, or an empty one when there is none or it is not this gate's (it is not built upon). */
function startingBaseline(repoDir: string): Content {
  try {
    const found = readBaseline(repoDir);
    if (found)
      return {
        version: 2,
        scenarios: found.scenarios,
        setBy: found.setBy,
        promotions: found.promotions,
        mainCommit: found.mainCommit,
        reason: found.reason,
      };
  } catch {
    // A baseline this gate did not sign is not built upon; the new one starts from this change.
  }
  return { version: 2, scenarios: {}, setBy: {}, promotions: {}, mainCommit: "", reason: "" };
}

/** Signs and writes `content` (counts and promotions recomputed from the entries) atomically; returns what was written. */
function writeBaseline(repoDir: string, content: Content): FitnessBaseline {
  const setBy: Record<string, z.infer<typeof Entry>[]> = {};
  const scenarios: Record<string, number> = {};
  for (const [name, entries] of Object.entries(content.setBy)) {
    const kept = entries.slice(-ENTRIES_KEPT);
    if (kept.length === 0) continue;
    setBy[name] = kept;
    scenarios[name] = Math.max(...kept.map((entry) => entry.count));
  }
  const named = new Set(Object.values(setBy).flatMap((entries) => entries.flatMap((entry) => (entry.by ? [entry.by] : []))));
  const promotions = Object.fromEntries(Object.entries(content.promotions).filter(([tag]) => named.has(tag)));
  const unsigned = BaselineV2.parse({ ...content, scenarios, setBy, promotions, updatedAt: new Date().toISOString() });
  const signed = { ...unsigned, mac: signContent(gateKey(repoDir, true) as Buffer, unsigned) };
  ensureFitnessDir(repoDir);
  writePrivateFile(join(repoDir, BASELINE_FILE), `${JSON.stringify(signed, null, 2)}\n`, { durable: true });
  return signed;
}

/** A promotion main took: its tag, the branch merged, the merge, and the counts its passing report gave. */
export type PromotionCounts = { tag: string; branch?: string; merge: string; passes: Record<string, number> };

/**
 * Adds a promotion's counts, each named for it (its entries replaced when it is recorded already, so a promotion
 * finished after a kill is counted once); no count is lowered, since the gate let no promotion pass below one.
 */
export function followPromotion(repoDir: string, promotion: PromotionCounts): FitnessBaseline {
  const base = startingBaseline(repoDir);
  const setBy: Content["setBy"] = {};
  for (const [name, entries] of Object.entries(base.setBy)) setBy[name] = entries.filter((entry) => entry.by !== promotion.tag);
  for (const [name, count] of Object.entries(promotion.passes)) setBy[name] = [...(setBy[name] ?? []), { count, by: promotion.tag }];
  const promotions = { ...base.promotions, [promotion.tag]: { ...(promotion.branch ? { branch: promotion.branch } : {}), merge: promotion.merge } };
  const reason = `${promotion.tag} merged ${promotion.branch ?? "a candidate"}`;
  return writeBaseline(repoDir, { ...base, setBy, promotions, mainCommit: promotion.merge, reason });
}

/**
 * A rollback main took: its tag, the promotion it undid with the tools that promotion changed (`changedCode`: it
 * changed files outside tools/generated/ too, let through with --allow-core), main after it and main's tools there.
 */
export type RollbackOfPromotion = {
  tag: string;
  undoes: string;
  undoneTools: readonly string[];
  changedCode: boolean;
  newMain: string;
  toolsOnMain: ReadonlySet<string>;
};

/**
 * Withdraws what the rollback took from main. A scenario the undone promotion could have changed (a model scenario,
 * a tool it added or changed, every one when it changed code) keeps only the counts of the promotions before it:
 * those after it measured main with it. A tool's scenario goes when main has no such tool. Another tool's counts stay
 * (a tool's examples run from its own folder, on code the promotion did not change). Running it twice changes nothing more.
 */
export function followRollback(repoDir: string, rollback: RollbackOfPromotion): FitnessBaseline {
  const base = startingBaseline(repoDir);
  const setBy: Content["setBy"] = {};
  for (const [name, entries] of Object.entries(base.setBy)) {
    const tool = name.startsWith(TOOL_SCENARIO_PREFIX) ? name.slice(TOOL_SCENARIO_PREFIX.length) : undefined;
    if (tool !== undefined && !rollback.toolsOnMain.has(tool)) continue;
    const dependsOnIt = rollback.changedCode || tool === undefined || rollback.undoneTools.includes(tool);
    setBy[name] = dependsOnIt ? entries.filter((entry) => entry.by !== undefined && entry.by < rollback.undoes) : entries;
  }
  const promotions = { ...base.promotions };
  const undone = promotions[rollback.undoes];
  if (undone) promotions[rollback.undoes] = { ...undone, undoneBy: rollback.tag };
  return writeBaseline(repoDir, { ...base, setBy, promotions, mainCommit: rollback.newMain, reason: `${rollback.tag} undid ${rollback.undoes}` });
}

/** Removes the named scenarios' counts (a person's decision that main no longer reaches them); returns those it found. */
export function dropBaselineCounts(repoDir: string, names: readonly string[], mainCommit: string): { dropped: string[]; baseline?: FitnessBaseline } {
  const found = readBaseline(repoDir);
  if (!found) return { dropped: [] };
  const dropped = names.filter((name) => name in found.setBy);
  if (dropped.length === 0) return { dropped, baseline: found };
  const setBy = Object.fromEntries(Object.entries(found.setBy).filter(([name]) => !dropped.includes(name)));
  const reason = `dropped by hand: ${dropped.join(", ")}`;
  const { mac: _mac, updatedAt: _at, ...content } = found;
  return { dropped, baseline: writeBaseline(repoDir, { ...content, setBy, mainCommit, reason }) };
}

/** Who set a scenario's count: the newest entry at that count, its promotion and branch, and the rollback that undid it since, if one did. */
export function countSetBy(baseline: FitnessBaseline, name: string): { by?: string; branch?: string; undoneBy?: string; text: string } {
  const count = baseline.scenarios[name];
  const entry = (baseline.setBy[name] ?? []).findLast((candidate) => candidate.count === count);
  if (!entry?.by) return { text: "set before org noted which promotion set a count" };
  const { branch, undoneBy } = baseline.promotions[entry.by] ?? {};
  const text = `set by ${entry.by}${branch ? ` (${branch})` : ""}${undoneBy ? `, which ${undoneBy} undid without changing this` : ""}`;
  return { by: entry.by, ...(branch ? { branch } : {}), ...(undoneBy ? { undoneBy } : {}), text };
}

/** What a promote or rollback did to the baseline, in one line. */
export function baselineLine(before: FitnessBaseline | undefined, after: FitnessBaseline): string {
  const counts = Object.keys(after.scenarios).length;
  const lowered = Object.entries(before?.scenarios ?? {})
    .filter(([name, count]) => (after.scenarios[name] ?? 0) < count)
    .map(([name, count]) => (name in after.scenarios ? `${name} ${count} → ${after.scenarios[name]}` : `${name} (was ${count})`));
  const where = `${counts} scenario count(s) in ${BASELINE_FILE}`;
  if (lowered.length === 0) return `baseline: ${where}, none lowered`;
  return (
    `baseline: ${where}; ${after.reason}, so it withdrew ` +
    `${lowered.slice(0, 6).join(", ")}${lowered.length > 6 ? ` and ${lowered.length - 6} more` : ""}`
  );
}
