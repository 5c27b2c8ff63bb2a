import { resolve } from "node:path";
import { archiveLog, type LogFile, logFiles, rotationPlan } from "./log-files.ts";
import { type Check, type CheckResult, type Fix, type Finding, mib, type SuperviseContext } from "./supervise-check.ts";

const MIB = 1024 * 1024;

function roots(context: SuperviseContext): string[] {
  return [context.workspaceDir, context.repoDir];
}

/** A file smaller than this frees next to nothing when gzipped (the archive's own blocks): not rotated for the total. */
const WORTH_ROTATING = 64 * 1024;

/** The files that may be rotated, largest first, whose rotation brings the total under `limit` bytes: what frees the most. */
function largestToRotate(plan: { file: LogFile; kept?: string }[], total: number, limit: number): LogFile[] {
  const chosen: LogFile[] = [];
  let left = total;
  for (const { file, kept } of [...plan].sort((a, b) => b.file.bytes - a.file.bytes)) {
    if (left <= limit || file.bytes < WORTH_ROTATING) break;
    if (kept !== undefined) continue;
    chosen.push(file);
    left -= file.bytes;
  }
  return chosen;
}

/** What holds the space rotation cannot free: the largest files kept, each with why. */
function whatHolds(plan: { file: LogFile; kept?: string }[]): string {
  const kept = plan.filter((entry) => entry.kept !== undefined).sort((a, b) => b.file.bytes - a.file.bytes);
  if (kept.length === 0) return "nothing is kept";
  const shown = kept.slice(0, 3).map((entry) => `${entry.file.path} (${mib(entry.file.bytes)}: ${entry.kept})`);
  return `held: ${shown.join("; ")}${kept.length > 3 ? ` and ${kept.length - 3} more` : ""}`;
}

/** Pattern 10: a transcript or audit day over `supervise.logCapMiB`, or all of them over `supervise.logsTotalMiB`, is rotated. */
async function runLogsCheck(context: SuperviseContext): Promise<CheckResult> {
  const settings = context.config.supervise;
  const files = logFiles(roots(context));
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  const over = files.filter((file) => file.bytes > settings.logCapMiB * MIB);
  const totalOver = total > settings.logsTotalMiB * MIB;
  if (over.length === 0 && !totalOver)
    return { state: "ok", detail: `${files.length} transcripts and audit days, ${mib(total)} in all; none over its cap`, findings: [] };
  const plan = rotationPlan(totalOver ? files : over);
  const findings: Finding[] = [];
  for (const { file, kept } of plan.filter((entry) => entry.file.bytes > settings.logCapMiB * MIB)) {
    const detail = `${file.path} holds ${mib(file.bytes)}, over supervise.logCapMiB (${settings.logCapMiB} MiB)`;
    findings.push(
      kept === undefined
        ? {
            key: file.path,
            title: `a log over its cap: ${file.path}`,
            detail,
            fix: { action: "rotate-logs", target: file.path, detail: "gzip it into .org/archive/" },
          }
        : { key: file.path, title: `a log over its cap: ${file.path}`, detail: `${detail}; not rotated: ${kept}` },
    );
  }
  if (totalOver) {
    const chosen = largestToRotate(plan, total, settings.logsTotalMiB * MIB);
    const freed = chosen.reduce((sum, file) => sum + file.bytes, 0);
    const detail = `transcripts and audit days hold ${mib(total)}, over supervise.logsTotalMiB (${settings.logsTotalMiB} MiB)`;
    findings.push({
      key: "total",
      title: "logs over their total cap",
      detail:
        chosen.length > 0
          ? `${detail}; rotating the largest ${chosen.length} frees ${mib(freed)}`
          : `${detail}; none of them can be rotated now (${whatHolds(plan)})`,
      ...(chosen.length > 0
        ? { fix: { action: "rotate-logs" as const, target: "largest", detail: `gzip the largest ${chosen.length} into .org/archive/` } }
        : {}),
    });
  }
  return { state: "warn", detail: findings.map((finding) => finding.title).join("; "), findings };
}

/** `rotate-logs`'s targets beside a file's path: the largest files until the total fits ("oldest": the same, as earlier versions named it). */
const TOTAL_TARGETS = new Set(["largest", "oldest"]);

/**
 * `rotate-logs`: one transcript or audit day (by path), or the largest until the total fits (`largest`), gzipped into
 * `.org/archive/`. It checks its own work (each file chosen is archived and gone) and says what still holds space it may
 * not free; a run that rotated all it could is not a failure, even when what is held keeps the total over its cap.
 */
export const rotateLogs: Fix = {
  target: 'the path of a transcript or audit day, or "largest" (the largest until the total fits): gzip it into .org/archive/',
  async refuse(target, context) {
    if (TOTAL_TARGETS.has(target)) return undefined;
    const file = logFiles(roots(context)).find((entry) => entry.path === resolve(target));
    if (!file) return `rotate-logs takes "largest" or the path of a transcript or audit day, not ${JSON.stringify(target.slice(0, 200))}`;
    return rotationPlan([file])[0]?.kept;
  },
  async apply(target, context) {
    const files = logFiles(roots(context));
    const total = files.reduce((sum, file) => sum + file.bytes, 0);
    const whole = TOTAL_TARGETS.has(target);
    const plan = rotationPlan(whole ? files : files.filter((file) => file.path === resolve(target)));
    const chosen = whole
      ? largestToRotate(plan, total, context.config.supervise.logsTotalMiB * MIB)
      : plan.filter((entry) => entry.kept === undefined).map((entry) => entry.file);
    let freed = 0;
    const rotated: string[] = [];
    const missed: string[] = [];
    for (const file of chosen) {
      try {
        freed += archiveLog(file);
        rotated.push(file.path);
      } catch (error) {
        missed.push(`${file.path}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const left = total - files.filter((file) => rotated.includes(file.path)).reduce((sum, file) => sum + file.bytes, 0);
    const still = whole && left > context.config.supervise.logsTotalMiB * MIB ? `; still ${mib(left)} (${whatHolds(plan)})` : "";
    if (missed.length > 0)
      return { ok: false, detail: `rotated ${rotated.length} of ${chosen.length} (${mib(freed)} freed); not: ${missed.join("; ")}` };
    if (rotated.length === 0) return { ok: true, verify: "self", detail: `nothing could be rotated now (${whatHolds(plan)})` };
    return { ok: true, verify: whole ? "self" : "check", detail: `rotated ${rotated.join(", ")} into .org/archive/ (${mib(freed)} freed)${still}` };
  },
};

export const logsCheck: Check = { name: "logs", run: runLogsCheck, fixes: { "rotate-logs": rotateLogs } };
