import { GENERATED_TOOL_FILES, generatedToolPath } from "../config/workspace-paths.ts";
import { readToolFileAt } from "../generated-tools/tool-catalog.ts";
import { landCandidate } from "../git/candidate-branch.ts";
import { branchRef, MAIN_REF } from "../git/ref-names.ts";
import { RepoGit } from "../git/repo-git.ts";
import { toolsChanged } from "../git/tool-tree.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";

/** A saved plan as it landed: its branch and commit, and the tools it carries from the built branches. */
export type LandedPlan = { branch: string; commit: string; tools: string[] };

/**
 * Lands workflow file `file` (its text `content`) on a new `cand/` branch of `repoDir`, never on main, with the
 * files of the tools each branch of `built` adds: one candidate the gate can judge whole.
 */
export async function landPlan(
  repoDir: string,
  plan: { file: string; content: string; name: string; goal: string; planId: string; built: readonly string[] },
  signal: AbortSignal,
): Promise<LandedPlan> {
  const git = new RepoGit(repoDir);
  const tools = await builtToolFiles(git, plan.built, signal);
  const landed = await landCandidate(
    git,
    {
      files: { ...tools.files, [plan.file]: plan.content },
      subject: `feat(workflows): planned workflow ${plan.name}`,
      body: oneLine(plan.goal, 500),
      trailers: { "Org-Plan": plan.planId },
    },
    { signal },
  );
  return { branch: landed.branch, commit: landed.commit, tools: tools.names };
}

/** The files of the tools each built branch adds, as a candidate carries them, and their names. */
async function builtToolFiles(
  git: RepoGit,
  branches: readonly string[],
  signal: AbortSignal,
): Promise<{ files: Record<string, string>; names: string[] }> {
  const files: Record<string, string> = {};
  const names: string[] = [];
  const main = await git.resolveCommit(MAIN_REF);
  for (const branch of branches) {
    const base = main ? await git.mergeBase(main, branchRef(branch), signal) : undefined;
    for (const tool of base ? await toolsChanged(git, base, branchRef(branch), signal) : []) {
      names.push(tool);
      const ref = branchRef(branch);
      for (const file of GENERATED_TOOL_FILES) files[generatedToolPath(tool, file)] = await readToolFileAt(git, ref, tool, file, signal);
    }
  }
  return { files, names };
}
