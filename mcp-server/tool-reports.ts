import { existsSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOLS_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { FITNESS_DIR } from "../fitness/gate-key.ts";
import { storedReports, type FitnessReport } from "../fitness/fitness-report.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";

/** A fitness report of a commit that changed a tool's folder, as `org://tools/<name>/reports/<n>` shows it. */
export type ToolReport = { path: string; report: FitnessReport };

/** Reports per tool name (see `toolReports`). */
export type ReportsByTool = ReadonlyMap<string, readonly ToolReport[]>;

/**
 * Per tool name, the reports this checkout's gate signed for the commits of HEAD's history that changed
 * `tools/generated/<name>/` (a promotion's candidate commit is one), oldest first: `reports/1` is the first.
 * One `git log` for every tool; nothing when the checkout has no `.org/fitness/` (no gate ever ran there).
 */
export async function toolReports(repoDir: string, signal?: AbortSignal): Promise<Map<string, ToolReport[]>> {
  const found = new Map<string, ToolReport[]>();
  if (!existsSync(join(repoDir, FITNESS_DIR))) return found;
  let history: { commit: string; paths: string[] }[];
  try {
    history = await new RepoGit(repoDir).pathHistory("HEAD", [`${GENERATED_TOOLS_DIR}/`], signal);
  } catch {
    // No commit yet, or not a repository: no history, so no reports.
    return found;
  }
  const commitsOf = new Map<string, Set<string>>();
  for (const { commit, paths } of history) {
    for (const path of paths) {
      const name = path.split("/")[2] ?? "";
      if (!path.startsWith(`${GENERATED_TOOLS_DIR}/`) || !TOOL_NAME_PATTERN.test(name)) continue;
      const commits = commitsOf.get(name) ?? new Set<string>();
      commits.add(commit);
      commitsOf.set(name, commits);
    }
  }
  const byCommit = new Map<string, ToolReport[]>();
  for (const [name, commits] of commitsOf) {
    const reports: ToolReport[] = [];
    for (const commit of commits) {
      if (!byCommit.has(commit)) {
        const trusted = storedReports(repoDir, commit).flatMap((stored) =>
          stored.trusted && stored.report?.commit === commit ? [{ path: stored.path, report: stored.report }] : [],
        );
        byCommit.set(commit, trusted);
      }
      reports.push(...(byCommit.get(commit) ?? []));
    }
    reports.sort((a, b) => a.report.startedAt.localeCompare(b.report.startedAt) || a.path.localeCompare(b.path));
    if (reports.length > 0) found.set(name, reports);
  }
  return found;
}

/** The reports of the tools `entries` offer, read in each checkout they come from; for a name, the first checkout's win. */
export async function offeredReports(entries: readonly McpToolEntry[]): Promise<ReportsByTool> {
  const repos = [...new Set(entries.flatMap((entry) => (entry.repoDir ? [entry.repoDir] : [])))];
  const merged = new Map<string, ToolReport[]>();
  for (const repo of repos) for (const [name, reports] of await toolReports(repo)) if (!merged.has(name)) merged.set(name, reports);
  return merged;
}
