// One run of `org grow`: notice what happened since the last run, merge it into proposals, mark those an existing
// tool answers, act on the promoted tools' health (one rollback at most), then build the most-needed proposals within
// the budget. Proposals and the cursor are kept after each step, and the run's report (`.org/grow/<id>.json`) is
// rewritten after each step too, so a run killed anywhere leaves consistent state and says how far it got.
import { buildStep } from "./build-step.ts";
import { followCandidates } from "./follow-candidates.ts";
import { takeGrowLock } from "./grow-lock.ts";
import type { GrowReport } from "./grow-report.ts";
import type { GrowRequest } from "./grow-request.ts";
import { GrowRun } from "./grow-run.ts";

/** The outcome of a run: its report and where it was written (none for a dry run, which keeps only what it noticed). */
export type GrowOutcome = { report: GrowReport; path?: string };

/**
 * One run of `org grow`; throws GrowBusyError when another run holds the workspace's lock. A dry run holds it too: it
 * keeps what it noticed (the proposals and the cursor), and changes nothing in git.
 */
export async function runGrow(request: GrowRequest): Promise<GrowOutcome> {
  const lock = takeGrowLock(request.workspaceDir, request.command);
  let run: GrowRun;
  try {
    // Read under the lock: a damaged state file is said, and the lock let go.
    run = new GrowRun(request);
  } catch (error) {
    lock.release();
    throw error;
  }
  try {
    run.keepReport();
    if (!request.dryRun) await run.resumeInterrupted();
    await followCandidates(run.state.proposals, run.git, request.signal);
    await run.notice();
    await run.actOnHealth();
    await buildStep(run);
    run.report.state = "done";
  } catch (error) {
    run.report.state = "failed";
    run.report.error = error instanceof Error ? error.message : String(error);
    throw error;
  } finally {
    run.report.endedAt = run.clock().toISOString();
    try {
      run.keepReport();
    } finally {
      lock.release();
    }
  }
  return { report: run.report, ...(run.path ? { path: run.path } : {}) };
}
