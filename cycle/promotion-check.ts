import type { PassingVerdict } from "./promote-verdict.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { NoPassingReportError, readPassingReport, storedReports } from "../fitness/fitness-report.ts";
import { checkProtectedCore } from "../fitness/protected-core.ts";
import { MAIN_REF } from "../git/ref-names.ts";

/**
 * What `promote` accepts for `commit`: the newest report this checkout's gate signed for it, passing, and the
 * protected-core check run again here on exactly that commit (a reviewed `--allow-core` the signed report
 * records is honoured). A report written by hand, or by another checkout, promotes nothing.
 */
export async function checkedPassingVerdict(
  git: RepoGit,
  commit: string,
  signal?: AbortSignal,
): Promise<PassingVerdict & { scenarioPasses?: Record<string, number> }> {
  const report = readPassingReport(git.repoDir, commit);
  const main = await git.resolveCommit(MAIN_REF);
  if (!main) throw new NoPassingReportError(`the repository at ${git.repoDir} has no main branch`);
  const base = await git.mergeBase(main, commit, signal);
  if (!base) throw new NoPassingReportError(`${commit.slice(0, 12)} shares no history with main`);
  const allowCore = report.checks.some((check) => check.stage === "protected-core" && check.ok && Number(check.figures?.allowedByFlag ?? 0) > 0);
  const core = await checkProtectedCore(git, base, commit, { allowCore, ...(signal ? { signal } : {}) });
  if (!core.ok) throw new NoPassingReportError(`the protected-core check, run again on ${commit.slice(0, 12)}, refuses it: ${core.reason}`);
  return {
    commit: report.commit,
    mainCommit: report.mainCommit,
    summary: report.summary,
    ...(report.judgedTree ? { judgedTree: report.judgedTree } : {}),
    ...(report.scenarioPasses ? { scenarioPasses: report.scenarioPasses } : {}),
  };
}

/** The `cand/*` branch whose head was most recently judged `pass` by this checkout's gate and is not on main yet, with when; undefined when none. */
export async function mostRecentlyPassedCandidate(
  git: RepoGit,
  signal?: AbortSignal,
): Promise<{ branch: string; commit: string; judgedAt: string } | undefined> {
  const heads = new Map<string, string[]>();
  for (const { commit, branch } of (await git.candidateRefs(signal)).refs) heads.set(commit, [...(heads.get(commit) ?? []), branch]);
  const main = await git.resolveCommit(MAIN_REF);
  for (const stored of storedReports(git.repoDir)) {
    if (!stored.trusted || !stored.report) continue;
    const branches = heads.get(stored.report.commit);
    if (!branches) continue;
    // The newest report of that commit decides: a later fail outweighs an earlier pass.
    if (stored.report.verdict !== "pass") {
      heads.delete(stored.report.commit);
      continue;
    }
    if (main && (await git.mergeBase(main, stored.report.commit, signal)) === stored.report.commit) {
      heads.delete(stored.report.commit);
      continue;
    }
    const branch = stored.report.branch && branches.includes(stored.report.branch) ? stored.report.branch : (branches.sort().at(-1) as string);
    return { branch, commit: stored.report.commit, judgedAt: stored.report.startedAt };
  }
  return undefined;
}
