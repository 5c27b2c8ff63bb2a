import { existsSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOLS_DIR, generatedToolPath } from "../config/workspace-paths.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { LiveCandidateNames } from "./tool-catalog.ts";
import type { ToolMetadata } from "./tool-metadata.ts";

// `org tool show` and `org tool run` find a tool by name here: promoted in the checkout, or on a branch. The readers
// are loaded only when asked, as `tool-listing.ts` does, so a command that fails on its flags never loads them.

/** A generated tool's code and validated metadata, its files checked against the recorded hashes; or why it cannot be used. */
export type ToolLookup = { ok: true; code: string; metadata: ToolMetadata } | { ok: false; problem: string };

/** The cand/* branches that add a tool of this name (not on main), newest first. */
async function candidateBranchesOf(git: RepoGit, name: string, liveNames: LiveCandidateNames, signal: AbortSignal): Promise<string[]> {
  const { candidateTools } = await import("./tool-catalog.ts");
  return (await candidateTools(git, liveNames, signal))
    .flatMap((entry) => (entry.status === "candidate" && entry.name === name ? [entry.branch] : []))
    .sort()
    .reverse();
}

/**
 * A tool's code from the checkout (promoted) or a branch, with its metadata validated and its files' hashes checked. A
 * name that is not promoted is looked up on the live candidates (`liveNames`): the problem names the branches and the
 * --ref to add.
 */
export async function lookUpTool(
  git: RepoGit,
  name: string,
  ref: string | undefined,
  liveNames: LiveCandidateNames,
  signal: AbortSignal,
): Promise<ToolLookup> {
  if (!ref) {
    const { readPromotedTool, verifiedToolCode } = await import("./read-promoted-tool.ts");
    const read = readPromotedTool(git.repoDir, name);
    if (!read.ok) {
      const branches = existsSync(join(git.repoDir, GENERATED_TOOLS_DIR, name)) ? [] : await candidateBranchesOf(git, name, liveNames, signal);
      if (branches.length > 0)
        return { ok: false, problem: `${name} is not promoted; it is a candidate on ${branches.join(", ")}: add --ref ${branches[0]}` };
      return { ok: false, problem: `${read.problem}; see org tool list` };
    }
    const verified = verifiedToolCode(read.tool);
    if (!verified.ok)
      return {
        ok: false,
        problem:
          `${name}: its files do not match the hashes in ${generatedToolPath(name, "metadata.json")}; ` +
          "it was changed after validation and will not run",
      };
    return { ok: true, code: verified.code, metadata: read.tool.metadata };
  }
  const { readToolAt } = await import("./tool-catalog.ts");
  const read = await readToolAt(git, ref, name, signal);
  if (!read.ok) return { ok: false, problem: read.problem.startsWith("no tool ") ? `${read.problem}; see org tool list` : read.problem };
  return { ok: true, code: read.code, metadata: read.metadata };
}

/** One version of a tool to show: `candidate` names its branch when it was found there rather than asked for. */
export type ShownTool = { code: string; metadata: ToolMetadata; candidate?: string };

/**
 * What `tool show` shows of `name`: the tool at `ref`, or the promoted one when its folder is there; else each
 * candidate that adds it, newest first. The first tool that cannot be read makes the whole a problem.
 */
export async function toolVersions(
  git: RepoGit,
  name: string,
  ref: string | undefined,
  liveNames: LiveCandidateNames,
  signal: AbortSignal,
): Promise<{ ok: true; versions: ShownTool[] } | { ok: false; problem: string }> {
  if (ref !== undefined || existsSync(join(git.repoDir, GENERATED_TOOLS_DIR, name))) {
    const tool = await lookUpTool(git, name, ref, liveNames, signal);
    return tool.ok ? { ok: true, versions: [{ code: tool.code, metadata: tool.metadata }] } : tool;
  }
  const branches = await candidateBranchesOf(git, name, liveNames, signal);
  if (branches.length === 0) return { ok: false, problem: `no tool ${name}: it is not promoted and no cand/* branch has it; see org tool list` };
  const versions: ShownTool[] = [];
  for (const branch of branches) {
    const tool = await lookUpTool(git, name, branch, liveNames, signal);
    if (!tool.ok) return tool;
    versions.push({ code: tool.code, metadata: tool.metadata, candidate: branch });
  }
  return { ok: true, versions };
}
