import { CandidateRefusedError, checkCandidateBranch, createBranchAtFreeSecond } from "./candidate-branch.ts";
import { toolsChanged } from "./tool-tree.ts";
import type { RepoGit } from "./repo-git.ts";
import { toolFolderTree, treeWithToolFolders } from "./tool-tree.ts";
import { treeWithWorkflowsOf, workflowsChanged } from "./workflow-tree.ts";

export type RebasedCandidate = { branch: string; commit: string; from: string; tools: string[]; main: string };

/**
 * The candidate's tool folders on top of today's main: main's tree with each `tools/generated/<tool>/` the
 * candidate adds or changes (from its merge base) taken from the candidate. Refuses a candidate that changes
 * nothing there. The caller checks first that the candidate touches nothing else (the protected core).
 */
export async function candidateOnMain(
  git: RepoGit,
  commit: string,
  signal?: AbortSignal,
): Promise<{ tree: string; tools: string[]; workflows: string[]; main: string; base: string }> {
  const main = await git.resolveCommit("refs/heads/main");
  if (!main) throw new CandidateRefusedError(`the repository at ${git.repoDir} has no main branch`);
  const base = await git.mergeBase(main, commit, signal);
  if (!base) throw new CandidateRefusedError(`${commit.slice(0, 12)} shares no history with main`);
  const tools = await toolsChanged(git, base, commit, signal);
  const workflows = await workflowsChanged(git, base, commit, signal);
  if (tools.length === 0 && workflows.length === 0)
    throw new CandidateRefusedError(`${commit.slice(0, 12)} adds or changes no tool under tools/generated/ and no workflows/<name>.json`);
  const folders = new Map<string, string | undefined>();
  for (const tool of tools) folders.set(tool, await toolFolderTree(git, commit, tool, signal));
  const withTools = await treeWithToolFolders(git, main, folders, signal);
  return { tree: await treeWithWorkflowsOf(git, withTools, commit, workflows, signal), tools, workflows, main, base };
}

/**
 * `org candidate rebase BRANCH`: a new `cand/<UTC second>` from today's main with the same tool files as BRANCH
 * (one commit, the original message plus a `Rebased-From:` trailer). BRANCH itself is left as it is.
 */
export async function rebaseCandidate(
  git: RepoGit,
  branch: string,
  options: { now?: () => Date; signal?: AbortSignal } = {},
): Promise<RebasedCandidate> {
  checkCandidateBranch(branch);
  const { signal } = options;
  const from = await git.resolveCommit(`refs/heads/${branch}`);
  if (!from) throw new CandidateRefusedError(`there is no branch ${branch}; 'org candidate list' lists the candidates`);
  // A candidate already merged (promoted, then rolled back) is taken from its own first parent.
  const main = await git.resolveCommit("refs/heads/main");
  if (!main) throw new CandidateRefusedError(`the repository at ${git.repoDir} has no main branch`);
  const onMain = (await git.mergeBase(main, from, signal)) === from;
  let tree: string;
  let tools: string[];
  if (onMain) {
    const parent = await git.resolveCommit(`${from}^1`);
    tools = parent ? await toolsChanged(git, parent, from, signal) : [];
    if (tools.length === 0) throw new CandidateRefusedError(`${branch} adds no tool under tools/generated/`);
    const folders = new Map<string, string | undefined>();
    for (const tool of tools) folders.set(tool, await toolFolderTree(git, from, tool, signal));
    tree = await treeWithToolFolders(git, main, folders, signal);
  } else {
    ({ tree, tools } = await candidateOnMain(git, from, signal));
  }
  if (tree === (await git.resolveTree(main)))
    throw new CandidateRefusedError(`main already holds ${tools.join(", ")} exactly as ${branch} has them; nothing to rebase`);
  const original = (await git.commitMessage(from, signal)).trimEnd();
  const message = `${original}\nRebased-From: ${branch} ${from}\n`;
  const commit = await git.commitTree(tree, { parents: [main], message, signal });
  const created = await createBranchAtFreeSecond(git, commit, options.now ?? (() => new Date()), signal);
  return { branch: created, commit, from, tools, main };
}
