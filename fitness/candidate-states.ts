import { latestReport } from "./fitness-report.ts";
import type { PromotionRefs, RepoGit } from "../git/repo-git.ts";
import { undoneBy } from "../git/undone-promotions.ts";
import { toolFoldersAt, toolsChanged } from "../git/tool-tree.ts";

/**
 * Where a candidate stands: `untested` (no report, built on today's main), `pass` / `fail` (its newest signed
 * report, judged against today's main), `stale` (main moved since it was built or judged), `promoted` (on main),
 * `rolled-back` (on main's history, but its promotion was reverted).
 */
export type CandidateState = "untested" | "pass" | "fail" | "stale" | "promoted" | "rolled-back";
/** The states that still hold a tool's name: a build may still be judged and promoted. */
export const LIVE_CANDIDATE_STATES: readonly CandidateState[] = ["untested", "pass", "stale"];

/** One `cand/*` branch, as `org candidate list --json` prints it (the first six fields are the contract). */
export type CandidateRow = {
  branch: string;
  tools: string[];
  state: CandidateState;
  commit: string;
  /** The candidate commit's date (ISO 8601). */
  builtAt: string;
  /** The newest report this checkout's gate signed for the commit, or null. */
  reportPath: string | null;
  /** The model that wrote the implementation (from the commit's Org-*-Model trailer), or null. */
  model: string | null;
  /** The verdict of that report, when there is one. */
  verdict: "pass" | "fail" | "error" | null;
  /** A newer live candidate with the same tools, or main holding them: this one is no longer needed. */
  supersededBy: string | null;
  /** The promote/ tag that merged it, when it is (or was) on main. */
  promotion: string | null;
};

/** promote/ tag → the candidate commit it merged (its second parent), and the tags rollbacks undid. */
async function promotionsOf(
  git: RepoGit,
  refs: PromotionRefs,
  signal?: AbortSignal,
): Promise<{ byCandidate: Map<string, string>; undone: Set<string> }> {
  const byCandidate = new Map<string, string>();
  const tags = refs.promote;
  const seconds = await git.resolveCommits(
    tags.map((tag) => `${tag.commit}^2`),
    signal,
  );
  for (const tag of tags) {
    const second = seconds.get(`${tag.commit}^2`);
    if (second) byCandidate.set(second, tag.name);
  }
  return { byCandidate, undone: undoneBy(refs.rollback) };
}

function modelOf(message: string): string | null {
  const model = (/^Org-Implementation-Model: (.*)$/m.exec(message) ?? /^Org-Spec-Model: (.*)$/m.exec(message))?.[1];
  if (model === undefined) return null;
  return (
    model
      .split(";")[0]
      ?.replace(/ at \S+$/, "")
      .trim()
      .slice(0, 200) || null
  );
}

/**
 * Every `cand/*` branch with its tools, state, report and model, oldest first; read with git and the signed
 * reports in `.org/fitness/`, nothing checked out.
 */
export async function candidateStates(git: RepoGit, signal?: AbortSignal): Promise<CandidateRow[]> {
  // main, the candidates and the promotion tags with one git process: this runs on every tool listing and name check.
  const promotionRefs = await git.promotionRefs(signal);
  const main = promotionRefs.main;
  if (!main) return [];
  const { byCandidate, undone } = await promotionsOf(git, promotionRefs, signal);
  const rows: CandidateRow[] = [];
  const { refs } = promotionRefs.candidates;
  const messages = await git
    .commitMessages(
      refs.map((ref) => ref.commit),
      signal,
    )
    .catch(() => new Map<string, string>());
  // Each commit's tool folders listed once: main's are compared with every candidate's, some twice.
  const listings = new Map<string, Promise<Map<string, string>>>();
  const folder = async (commit: string, tool: string) => {
    const listing = listings.get(commit) ?? toolFoldersAt(git, commit, signal);
    listings.set(commit, listing);
    return (await listing).get(tool);
  };
  for (const ref of refs) {
    const base = (await git.mergeBase(main, ref.commit, signal)) ?? "";
    const message = messages.get(ref.commit) ?? (await git.commitMessage(ref.commit, signal).catch(() => ""));
    const onMain = base === ref.commit;
    const parent = onMain ? await git.resolveCommit(`${ref.commit}^1`) : base;
    const tools = parent ? await toolsChanged(git, parent, ref.commit, signal) : [];
    const latest = latestReport(git.repoDir, ref.commit);
    const promotion = byCandidate.get(ref.commit) ?? null;
    let state: CandidateState;
    if (onMain) {
      if (promotion) state = undone.has(promotion) ? "rolled-back" : "promoted";
      else {
        // Merged some other way: promoted while main still holds exactly its tool folders.
        const same = await Promise.all(tools.map(async (tool) => (await folder(main, tool)) === (await folder(ref.commit, tool))));
        state = same.every(Boolean) ? "promoted" : "rolled-back";
      }
    } else if (!latest) state = base === main ? "untested" : "stale";
    else if (latest.report.verdict !== "pass") state = "fail";
    else state = latest.report.mainCommit === main ? "pass" : "stale";
    rows.push({
      branch: ref.branch,
      tools,
      state,
      commit: ref.commit,
      builtAt: ref.committedAt,
      reportPath: latest?.path ?? null,
      model: modelOf(message),
      verdict: latest?.report.verdict ?? null,
      supersededBy: null,
      promotion,
    });
  }
  // Superseded: main holds the same tool folders, or a newer live candidate carries the same tools.
  for (const [index, row] of rows.entries()) {
    if (!LIVE_CANDIDATE_STATES.includes(row.state) && row.state !== "fail") continue;
    if (row.tools.length === 0) continue;
    const onMain = await Promise.all(row.tools.map(async (tool) => (await folder(main, tool)) === (await folder(row.commit, tool))));
    if (onMain.every(Boolean)) {
      row.supersededBy = "main";
      continue;
    }
    const newer = rows
      .slice(index + 1)
      .find((other) => LIVE_CANDIDATE_STATES.includes(other.state) && row.tools.every((tool) => other.tools.includes(tool)));
    if (newer) row.supersededBy = newer.branch;
  }
  return rows;
}

/** Tool name → the newest live candidate branch (untested, pass or stale) that adds it; what holds a name besides main. */
export async function liveCandidateToolNames(git: RepoGit, signal?: AbortSignal): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const row of await candidateStates(git, signal)) {
    if (!LIVE_CANDIDATE_STATES.includes(row.state)) continue;
    for (const tool of row.tools) names.set(tool, row.branch);
  }
  return names;
}
