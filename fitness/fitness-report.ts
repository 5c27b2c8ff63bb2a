import { existsSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ensureFitnessDir, FITNESS_DIR, GATE_KEY_FILE, GateKeyError, gateKey, readRegularFile, signContent, verifyContent } from "./gate-key.ts";
import { writeNewPrivateFile } from "../security/private-state.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { OBJECT_ID_PATTERN } from "../git/ref-names.ts";
import { OrgError } from "../errors/org-error.ts";

const Sha = z.string().regex(OBJECT_ID_PATTERN);

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

/**
 * `.org/fitness/<commit>/<UTC time>.json`, one per run: written and signed by the gate in current's checkout,
 * never taken from a branch.
 */
export const FitnessReport = z.strictObject({
  version: z.literal(1),
  verdict: FitnessVerdict,
  /** The candidate commit judged (the one its /health named). */
  commit: Sha,
  branch: z.string().optional(),
  /** main when judged; promotion refuses when main has moved since. */
  mainCommit: Sha,
  mergeBase: Sha.optional(),
  /** The tree the tools and tests stages judged: main merged with the candidate (equal to the candidate's when it is built on main). */
  judgedTree: Sha.optional(),
  checks: z.array(FitnessCheck),
  /** One line per stage, for the merge commit message. */
  summary: z.string(),
  startedAt: z.iso.datetime(),
  durationMs: z.number().min(0),
  /** Scenario name → passes, on the candidate: the baseline promotion records. */
  scenarioPasses: z.record(z.string(), z.number().int().min(0)).optional(),
  /** HMAC-SHA256 of everything else (canonical JSON) under `.org/fitness/gate.key`: only this checkout's gate can write it. */
  mac: z.string().optional(),
});
export type FitnessReport = z.infer<typeof FitnessReport>;

/** No passing report for the commit a promotion would merge; the message says what to run. */
export class NoPassingReportError extends OrgError {
  override name = "NoPassingReportError";
  /** True when running the gate on the commit again is the way on; a promotion's refusal then names the commands. */
  readonly rejudge: boolean;
  constructor(message: string, options: { rejudge?: boolean } = {}) {
    super(message);
    this.rejudge = options.rejudge ?? false;
  }
}

/** The folder of `commit`'s reports in a checkout: `.org/fitness/<commit>/`. */
export function fitnessReportDir(repoDir: string, commit: string): string {
  if (!Sha.safeParse(commit).success) throw new NoPassingReportError(`${JSON.stringify(commit)} is not a commit id`);
  return join(repoDir, FITNESS_DIR, commit);
}

const MAX_REPORT_BYTES = 4 * 1024 * 1024;
const REPORT_FILE = /^\d{8}T\d{9}Z(-\d+)?\.json$/;

function stampOf(iso: string): string {
  return iso.replace(/[-:]/g, "").replace(".", "");
}

/**
 * Signs and writes a run's report to `.org/fitness/<commit>/<UTC time>.json`, never over an earlier one:
 * created 0600 without following links (O_EXCL), synced, then linked into place. Returns the path.
 */
export function writeFitnessReport(repoDir: string, report: FitnessReport): string {
  const parsed = FitnessReport.parse({ ...report, mac: undefined });
  const key = gateKey(repoDir, true) as Buffer;
  const signed = { ...parsed, mac: signContent(key, parsed) };
  ensureFitnessDir(repoDir);
  const dir = fitnessReportDir(repoDir, report.commit);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
  }
  if (!lstatSync(dir).isDirectory()) throw new GateKeyError(`${dir} is not a directory; remove it and run the gate again`);
  const names = Array.from({ length: 1000 }, (_, attempt) => join(dir, `${stampOf(report.startedAt)}${attempt === 0 ? "" : `-${attempt}`}.json`));
  const path = writeNewPrivateFile(names, `${JSON.stringify(signed, null, 2)}\n`, { durable: true });
  if (path === undefined) throw new GateKeyError(`${dir} holds 1000 reports started at ${report.startedAt}; remove some and run the gate again`);
  return path;
}

/** One report file found in `.org/fitness/`: trusted only when this checkout's gate key signed it. */
export type StoredReport = { path: string; report?: FitnessReport; trusted: boolean; problem?: string };

function readReportFile(path: string, key: Buffer | undefined): StoredReport {
  const read = readRegularFile(path, MAX_REPORT_BYTES);
  if (!read.ok) {
    return {
      path,
      trusted: false,
      problem: read.errno ? `cannot be opened as a regular file (${read.errno})` : "is not a regular file of at most 4 MiB",
    };
  }
  const { text } = read;
  let report: FitnessReport;
  try {
    report = FitnessReport.parse(JSON.parse(text));
  } catch (error) {
    return { path, trusted: false, problem: `is not a fitness report (${error instanceof Error ? error.message.split("\n")[0] : error})` };
  }
  const { mac, ...content } = report;
  const trusted = key !== undefined && mac !== undefined && verifyContent(key, content, mac);
  return {
    path,
    report,
    trusted,
    ...(trusted ? {} : { problem: `was not written by this checkout's gate (its signature does not match ${GATE_KEY_FILE})` }),
  };
}

/**
 * The report files of `commit` (or of every commit), newest first: `.org/fitness/<commit>/*.json`, and a
 * `.org/fitness/<commit>.json` of the older layout (unsigned, so never trusted). Nothing is followed through links.
 */
export function storedReports(repoDir: string, commit?: string): StoredReport[] {
  const root = join(repoDir, FITNESS_DIR);
  if (!existsSync(root) || !lstatSync(root).isDirectory()) return [];
  const key = gateKey(repoDir, false);
  const commits =
    commit !== undefined
      ? [commit]
      : readdirSync(root)
          .map((name) => name.replace(/\.json$/, ""))
          .filter((name) => Sha.safeParse(name).success);
  const found: StoredReport[] = [];
  for (const id of new Set(commits)) {
    const dir = fitnessReportDir(repoDir, id);
    if (existsSync(`${dir}.json`)) found.push(readReportFile(`${dir}.json`, key));
    if (existsSync(dir) && lstatSync(dir).isDirectory()) {
      for (const name of readdirSync(dir).filter((entry) => REPORT_FILE.test(entry))) found.push(readReportFile(join(dir, name), key));
    }
  }
  const time = (entry: StoredReport) => entry.report?.startedAt ?? "";
  return found.sort((a, b) => (time(a) < time(b) ? 1 : time(a) > time(b) ? -1 : b.path.localeCompare(a.path)));
}

/** The newest report this checkout's gate wrote for `commit`, with its path; undefined when there is none. */
export function latestReport(repoDir: string, commit: string): { path: string; report: FitnessReport } | undefined {
  const entry = storedReports(repoDir, commit).find((stored) => stored.trusted && stored.report?.commit === commit);
  return entry?.report ? { path: entry.path, report: entry.report } : undefined;
}

/** The passing report for exactly `commit` (its newest report signed by this checkout's gate), or NoPassingReportError saying why there is none. */
export function readPassingReport(repoDir: string, commit: string): FitnessReport {
  const stored = storedReports(repoDir, commit);
  const latest = stored.find((entry) => entry.trusted && entry.report?.commit === commit);
  if (!latest?.report) {
    const untrusted = stored[0];
    if (untrusted)
      throw new NoPassingReportError(
        `${untrusted.path} ${untrusted.problem ?? "is not usable"}; it promotes nothing: run the fitness gate on ${commit.slice(0, 12)}`,
        { rejudge: true },
      );
    throw new NoPassingReportError(
      `no fitness report for ${commit.slice(0, 12)} (${fitnessReportDir(repoDir, commit)}/): run the fitness gate on it first`,
      {
        rejudge: true,
      },
    );
  }
  const report = latest.report;
  if (report.verdict !== "pass") {
    const failed = report.checks.find((check) => !check.ok);
    throw new NoPassingReportError(
      `the fitness verdict for ${commit.slice(0, 12)} is ${report.verdict}${
        failed ? ` (${failed.name}: ` + `${failed.reason})` : ""
      }; it cannot be promoted`,
    );
  }
  return report;
}
