import type { FitnessCheck } from "./fitness-report.ts";
import type { FitnessOutcome } from "./run-fitness.ts";

/** A cell cut to `width` columns with an ellipsis, or padded to it. */
function fitCell(cell: string, width: number): string {
  return cell.length > width ? `${cell.slice(0, width - 1)}…` : cell.padEnd(width);
}

/** The short table the gate prints: one line per check. */
export function fitnessTable(checks: FitnessCheck[]): string {
  return checks
    .map((check) => {
      const cells = [
        fitCell(check.ok ? "ok" : "FAIL", 4),
        fitCell(check.stage, 14),
        fitCell(check.name, 44),
        fitCell(`${(check.durationMs / 1000).toFixed(1)} s`, 7),
      ];
      const reason = check.reason.length > 160 ? `${check.reason.slice(0, 159)}…` : check.reason;
      return `${cells.join("  ")}  ${reason}`;
    })
    .join("\n");
}

/** "verdict: pass — every stage passed": the gate's answer in one line ("could not judge" when no report). */
export function verdictLine(outcome: Pick<FitnessOutcome, "report" | "why">): string {
  return `verdict: ${outcome.report?.verdict ?? "could not judge"} — ${outcome.why}`;
}

/** What `org fitness` prints of a run: what was judged against what, the table, the verdict and the report's path. */
export function fitnessLines(outcome: FitnessOutcome): string[] {
  const { report } = outcome;
  return [
    ...(report
      ? [
          `fitness of ${report.commit}${report.branch ? ` (${report.branch})` : ""} against main ${report.mainCommit.slice(0, 12)}`,
          ...fitnessTable(report.checks).split("\n"),
        ]
      : []),
    verdictLine(outcome),
    ...(outcome.path ? [`report: ${outcome.path}`] : []),
  ];
}
