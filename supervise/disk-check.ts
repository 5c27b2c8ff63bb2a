import { statfsSync } from "node:fs";
import { serveEnvironment } from "../config/environment.ts";
import { dropReportFolders, surplusReportFolders } from "../fitness/fitness-report-prune.ts";
import { RepoGit } from "../git/repo-git.ts";
import { compactIdleJobsLog } from "../serve/idle-jobs-compaction.ts";
import { removeLeftovers } from "./leftovers-check.ts";
import { archiveLog, logFiles, rotationPlan } from "./log-files.ts";
import { type Check, type CheckResult, type Fix, type Finding, mib, type SuperviseContext } from "./supervise-check.ts";

function freeBytes(context: SuperviseContext, dir: string): number {
  if (context.freeBytes) return context.freeBytes(dir);
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

function folders(context: SuperviseContext): string[] {
  return [...new Set([context.workspaceDir, context.repoDir])];
}

/** Pattern 3: free space in the workspace's and the checkout's file systems under `supervise.minFreeMiB`. */
async function runDiskCheck(context: SuperviseContext): Promise<CheckResult> {
  const min = context.config.supervise.minFreeMiB * 1024 * 1024;
  const findings: Finding[] = [];
  const shown: string[] = [];
  for (const dir of folders(context)) {
    const free = freeBytes(context, dir);
    shown.push(`${mib(free)} free in ${dir}`);
    if (free < min)
      findings.push({
        key: dir,
        title: `disk nearly full under ${dir}`,
        detail: `${mib(free)} free in ${dir}, under supervise.minFreeMiB (${context.config.supervise.minFreeMiB} MiB)`,
        fix: {
          action: "free-disk",
          target: dir,
          detail: "compact serve's job log, archive old transcripts and audit days, remove what dead runs left, drop old fitness reports",
        },
      });
  }
  return findings.length > 0
    ? { state: "fail", detail: findings.map((finding) => finding.detail).join("; "), findings }
    : { state: "ok", detail: shown.join("; "), findings: [] };
}

/** One step of freeing space: what it did, and the bytes it freed by its own count. */
type Step = { what: string; bytes: number };

async function compactJobLogs(context: SuperviseContext): Promise<Step> {
  const { dedupTtlS, jobTtlS } = serveEnvironment();
  const said: string[] = [];
  let bytes = 0;
  for (const dir of folders(context)) {
    const compaction = await compactIdleJobsLog(dir, { dedupTtlS, ttlS: jobTtlS, now: context.now });
    if (compaction.ran) bytes += compaction.freedBytes;
    else if (compaction.reason !== "there is no job log") said.push(compaction.reason);
  }
  return { what: `compacted serve's job log${said.length > 0 ? ` (${said.join("; ")})` : ""}`, bytes };
}

function archiveOld(context: SuperviseContext): Step {
  const before = context.now() - context.config.supervise.archiveAfterDays * 86_400_000;
  const plan = rotationPlan(logFiles(folders(context)).filter((file) => file.mtimeMs < before));
  let bytes = 0;
  const done = plan.filter((entry) => entry.kept === undefined);
  for (const { file } of done) bytes += archiveLog(file);
  return { what: `archived ${done.length} transcripts and audit days older than ${context.config.supervise.archiveAfterDays} days`, bytes };
}

async function dropReports(context: SuperviseContext): Promise<Step> {
  const surplus = await surplusReportFolders(new RepoGit(context.repoDir), context.config.supervise.keepReports, context.signal);
  return {
    what: `dropped ${surplus.length} fitness report folders past the newest ${context.config.supervise.keepReports} (supervise.keepReports)`,
    bytes: dropReportFolders(surplus),
  };
}

/** `free-disk`: each step in turn until there is room again; what each freed is reported. */
export const freeDisk: Fix = {
  target: "the workspace or checkout folder: compact logs, archive old transcripts, drop old reports",
  refuse: async (target, context) =>
    folders(context).includes(target)
      ? undefined
      : `free-disk takes the workspace or the checkout folder, not ${JSON.stringify(target.slice(0, 200))}`,
  async apply(target, context) {
    const min = context.config.supervise.minFreeMiB * 1024 * 1024;
    const start = freeBytes(context, target);
    const steps: Step[] = [];
    const runSteps = [
      () => compactJobLogs(context),
      async () => archiveOld(context),
      async () => ({ what: `removed ${(await removeLeftovers("all", context)).length} leftovers of dead runs`, bytes: 0 }),
      () => dropReports(context),
    ];
    for (const step of runSteps) {
      steps.push(await step());
      if (freeBytes(context, target) >= min) break;
    }
    const freed = Math.max(0, freeBytes(context, target) - start);
    const detail =
      `freed ${mib(freed)} under ${target}: ` + `${steps.map((step) => `${step.what}${step.bytes > 0 ? ` (${mib(step.bytes)})` : ""}`).join("; ")}`;
    return { ok: true, detail };
  },
};

export const diskCheck: Check = { name: "disk", run: runDiskCheck, fixes: { "free-disk": freeDisk } };
