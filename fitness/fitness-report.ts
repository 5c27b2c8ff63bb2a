import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writePrivateFile } from "../security/private-state.ts";
import { z } from "zod";

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);

/** The gate's stages, cheapest first. */
export const FITNESS_STAGES = ["identify", "protected-core", "tools", "tests", "scenarios"] as const;
export const FitnessStage = z.enum(FITNESS_STAGES);
export type FitnessStage = z.infer<typeof FitnessStage>;

/** One check the gate ran itself: what, whether it held, its figures and why. */
export const FitnessCheck = z.strictObject({
  stage: FitnessStage,
  name: z.string(),
  ok: z.boolean(),
  reason: z.string(),
  figures: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.array(z.string())])).optional(),
  durationMs: z.number().min(0),
});
export type FitnessCheck = z.infer<typeof FitnessCheck>;

/** `pass`: promote may merge this commit; `fail`: it may not; `error`: the gate could not judge (exit 2). */
export const FitnessVerdict = z.enum(["pass", "fail", "error"]);
export type FitnessVerdict = z.infer<typeof FitnessVerdict>;

/** `.org/fitness/<commit>.json`: written by the gate in current's checkout, never taken from a branch. */
export const FitnessReport = z.strictObject({
  version: z.literal(1),
  verdict: FitnessVerdict,
  /** The candidate commit judged (the one its /health named). */
  commit: Sha,
  branch: z.string().optional(),
  /** main when judged; promotion refuses when main has moved since. */
  mainCommit: Sha,
  mergeBase: Sha.optional(),
  checks: z.array(FitnessCheck),
  /** One line per stage, for the merge commit message. */
  summary: z.string(),
  startedAt: z.iso.datetime(),
  durationMs: z.number().min(0),
});
export type FitnessReport = z.infer<typeof FitnessReport>;

/** No passing report for the commit a promotion would merge; the message says what to run. */
export class NoPassingReportError extends Error {
  override name = "NoPassingReportError";
  readonly userFacing = true;
}

/** Where the report for `commit` lives in a checkout. */
export function fitnessReportPath(repoDir: string, commit: string): string {
  if (!Sha.safeParse(commit).success) throw new NoPassingReportError(`${JSON.stringify(commit)} is not a commit id`);
  return join(repoDir, ".org", "fitness", `${commit}.json`);
}

/** Writes a report atomically (a killed gate leaves no half report). */
export function writeFitnessReport(repoDir: string, report: FitnessReport): string {
  const path = fitnessReportPath(repoDir, report.commit);
  writePrivateFile(path, `${JSON.stringify(FitnessReport.parse(report), null, 2)}\n`);
  return path;
}

/** The passing report for exactly `commit`, or NoPassingReportError saying why there is none. */
export function readPassingReport(repoDir: string, commit: string): FitnessReport {
  const path = fitnessReportPath(repoDir, commit);
  if (!existsSync(path)) throw new NoPassingReportError(`no fitness report for ${commit.slice(0, 12)} (${path}): run ops/fitness.sh on it first`);
  let report: FitnessReport;
  try {
    report = FitnessReport.parse(JSON.parse(readFileSync(path, "utf8")));
  } catch (error) {
    throw new NoPassingReportError(`${path} is not a fitness report (${error instanceof Error ? error.message.split("\n")[0] : error}): run ops/fitness.sh again`);
  }
  if (report.commit !== commit) throw new NoPassingReportError(`${path} is for ${report.commit.slice(0, 12)}, not ${commit.slice(0, 12)}`);
  if (report.verdict !== "pass") {
    const failed = report.checks.find((check) => !check.ok);
    throw new NoPassingReportError(`the fitness verdict for ${commit.slice(0, 12)} is ${report.verdict}${failed ? ` (${failed.name}: ${failed.reason})` : ""}; it cannot be promoted`);
  }
  return report;
}
