import { resolve } from "node:path";
import { archiveLog, type LogFile, logFiles, rotationPlan } from "./log-files.ts";
import { type Check, type CheckResult, type FixExecutor, type Finding, mib, type SuperviseContext } from "./supervise-check.ts";

const MIB = 1024 * 1024;

function roots(context: SuperviseContext): string[] {
  return [context.workspaceDir, context.repoDir];
}

/** The oldest files that may be rotated whose rotation brings the total under `limit` bytes. */
function oldestToRotate(plan: { file: LogFile; kept?: string }[], total: number, limit: number): LogFile[] {
  const chosen: LogFile[] = [];
  let left = total;
  for (const { file, kept } of [...plan].sort((a, b) => a.file.mtimeMs - b.file.mtimeMs)) {
    if (left <= limit) break;
    if (kept !== undefined) continue;
    chosen.push(file);
    left -= file.bytes;
  }
  return chosen;
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
  const plan = rotationPlan(totalOver ? files : over, context.now());
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
    const chosen = oldestToRotate(plan, total, settings.logsTotalMiB * MIB);
    const detail = `transcripts and audit days hold ${mib(total)}, over supervise.logsTotalMiB (${settings.logsTotalMiB} MiB)`;
    findings.push({
      key: "total",
      title: "logs over their total cap",
      detail: chosen.length > 0 ? `${detail}; the oldest ${chosen.length} can be rotated` : `${detail}; none of them can be rotated now`,
      ...(chosen.length > 0
        ? { fix: { action: "rotate-logs" as const, target: "oldest", detail: `gzip the oldest ${chosen.length} into .org/archive/` } }
        : {}),
    });
  }
  return { state: "warn", detail: findings.map((finding) => finding.title).join("; "), findings };
}

export const logsCheck: Check = { name: "logs", run: runLogsCheck };

/** `rotate-logs`: one transcript or audit day (by path), or the oldest until the total fits (`oldest`), gzipped into `.org/archive/`. */
export const rotateLogs: FixExecutor = {
  check: "logs",
  async refuse(target, context) {
    if (target === "oldest") return undefined;
    const file = logFiles(roots(context)).find((entry) => entry.path === resolve(target));
    if (!file) return `rotate-logs takes "oldest" or the path of a transcript or audit day, not ${JSON.stringify(target.slice(0, 200))}`;
    return rotationPlan([file], context.now())[0]?.kept;
  },
  async apply(target, context) {
    const files = logFiles(roots(context));
    const total = files.reduce((sum, file) => sum + file.bytes, 0);
    const plan = rotationPlan(target === "oldest" ? files : files.filter((file) => file.path === resolve(target)), context.now());
    const chosen =
      target === "oldest"
        ? oldestToRotate(plan, total, context.config.supervise.logsTotalMiB * MIB)
        : plan.filter((entry) => entry.kept === undefined).map((entry) => entry.file);
    if (chosen.length === 0)
      return {
        ok: false,
        detail: `nothing could be rotated: ${
          plan
            .map((entry) => entry.kept)
            .filter(Boolean)
            .join("; ") || "no such file"
        }`,
      };
    let freed = 0;
    for (const file of chosen) freed += archiveLog(file, context.now());
    return { ok: true, detail: `rotated ${chosen.map((file) => file.path).join(", ")} into .org/archive/ (${mib(freed)} freed)` };
  },
};
