import { readdirSync } from "node:fs";
import { join } from "node:path";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import { GENERATED_TOOL_FILES, generatedToolPath, isWorkflowFilePath, TOOL_NAME_PATTERN, WORKTREES_DIR } from "../config/workspace-paths.ts";
import { CANDIDATE_BRANCH_PATTERN, candidateBranchName } from "./ref-names.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import { GitCommandError } from "./git-command-error.ts";
import type { RepoGit } from "./repo-git.ts";
import { folderTreeWith, toolFolderTree, treeWithToolFolders } from "./tool-tree.ts";
import { treeWithWorkflowFiles } from "./workflow-tree.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { OrgError } from "../errors/org-error.ts";

const TRAILER_KEY = /^[A-Z][A-Za-z0-9-]{0,40}$/;
// How many following seconds are tried when the wanted one is taken.
const MAX_SECOND_TRIES = 120;

/** A branch name, file path or trailer that org refuses to hand to git. */
export class CandidateRefusedError extends OrgError {
  override name = "CandidateRefusedError";
}

/** Returns the name when it is a candidate branch name; throws otherwise. */
export function checkCandidateBranch(name: string): string {
  if (!CANDIDATE_BRANCH_PATTERN.test(name)) {
    throw new CandidateRefusedError(`${JSON.stringify(name)} is not a candidate branch name (cand/YYYYMMDDTHHMMSSZ)`);
  }
  return name;
}

export type CandidateChange = {
  /** Repository-relative path → content; only the files of a generated tool are accepted. */
  files: Record<string, string>;
  subject: string;
  body?: string;
  /** Provenance written as `Key: value` trailers. */
  trailers: Record<string, string>;
};

export type LandedCandidate = { branch: string; commit: string; base: string };

/**
 * Commits `change` on top of `main` and creates a new `cand/<UTC second>` branch on it with a ref transaction that
 * fails rather than overwrite (the next free second is tried). The commit is made from objects alone (`hash-object`,
 * `mktree`, `commit-tree`): no worktree is checked out and the running checkout's files, index, HEAD and other refs
 * are never touched; on any failure no branch is made.
 */
export async function landCandidate(
  git: RepoGit,
  change: CandidateChange,
  options: { now?: () => Date; signal?: AbortSignal } = {},
): Promise<LandedCandidate> {
  const paths = Object.keys(change.files);
  if (paths.length === 0) throw new CandidateRefusedError("nothing to commit");
  for (const path of paths) {
    if (!isCandidateFile(path) && !isWorkflowFilePath(path))
      throw new CandidateRefusedError(`refusing to commit ${JSON.stringify(path)}: only tools/generated/<name>/ files and workflows/<name>.json`);
  }
  for (const key of Object.keys(change.trailers)) {
    if (!TRAILER_KEY.test(key)) throw new CandidateRefusedError(`refusing trailer key ${JSON.stringify(key)}`);
  }
  const base = await git.resolveCommit("refs/heads/main");
  if (!base) throw new CandidateRefusedError(`the repository at ${git.repoDir} has no main branch to build the candidate on`);
  const signal = options.signal;
  // Worktrees of older toolsmiths that were killed mid-landing are still cleared away.
  await removeAbandonedWorktrees(git, ensurePrivateDir(join(git.repoDir, WORKTREES_DIR)));

  // Each tool folder as a tree of its files (main's other files of that folder kept), then main's tree with them.
  const byTool = new Map<string, Map<string, string>>();
  const workflows = new Map<string, string>();
  for (const [path, content] of Object.entries(change.files)) {
    if (isWorkflowFilePath(path)) {
      workflows.set(path.split("/")[1] ?? "", content);
      continue;
    }
    const [, , tool = "", file = ""] = path.split("/");
    if (!byTool.has(tool)) byTool.set(tool, new Map());
    byTool.get(tool)?.set(file, content);
  }
  const folders = new Map<string, string | undefined>();
  for (const [tool, files] of byTool) {
    const kept = await toolFolderTree(git, base, tool, signal);
    folders.set(tool, await folderTreeWith(git, kept, files, signal));
  }
  const toolsTree = await treeWithToolFolders(git, base, folders, signal);
  const tree = workflows.size > 0 ? await treeWithWorkflowFiles(git, toolsTree, workflows, signal) : toolsTree;
  const message = [
    oneLine(change.subject, 100),
    ...(change.body ? ["", ...change.body.split("\n").map((line) => oneLine(line))] : []),
    "",
    ...Object.entries(change.trailers).map(([key, value]) => `${key}: ${oneLine(value, 300)}`),
  ].join("\n");
  // As `git commit --cleanup=strip` would: comment lines, trailing blanks and repeated empty lines go.
  const stripped = await git.run(["stripspace", "--strip-comments"], { stdin: `${message}\n`, signal });
  if (stripped.trim() === "") throw new CandidateRefusedError("the candidate's commit message is empty: give it a subject");
  const commit = (await git.run(["commit-tree", "-p", base, "-F", "-", "--end-of-options", tree], { stdin: stripped, signal })).trim();
  const branch = await createBranchAtFreeSecond(git, commit, options.now ?? (() => new Date()), signal);
  return { branch, commit, base };
}

/** Creates `cand/<UTC second>` at `commit` (never over an existing branch: the next free second is taken); returns its name. */
export async function createBranchAtFreeSecond(git: RepoGit, commit: string, now: () => Date, signal?: AbortSignal): Promise<string> {
  const start = now().getTime();
  for (let offset = 0; offset < MAX_SECOND_TRIES; offset += 1) {
    const branch = checkCandidateBranch(candidateBranchName(new Date(start + offset * 1000)));
    const transaction = `start\ncreate refs/heads/${branch} ${commit}\nprepare\ncommit\n`;
    try {
      await git.run(["update-ref", "--stdin"], { stdin: transaction, signal });
      publishWorkspaceEvent(git.repoDir, { type: "candidate-made", branch });
      return branch;
    } catch (error) {
      // Taken (by another terminal, or a fast model in the same second): try the next second. Anything else is real.
      if (!(error instanceof GitCommandError) || !/already exists|cannot lock ref/.test(error.message)) throw error;
      if ((await git.resolveCommit(`refs/heads/${branch}`)) === undefined) throw error;
    }
  }
  throw new CandidateRefusedError(`no free candidate branch name in ${MAX_SECOND_TRIES} seconds from ${candidateBranchName(new Date(start))}`);
}

// A toolsmith killed mid-landing (kill -9) leaves its worktree behind; its name carries the owner's pid.
async function removeAbandonedWorktrees(git: RepoGit, worktreesDir: string): Promise<void> {
  for (const name of readdirSync(worktreesDir)) {
    const pid = Number(/^toolsmith-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid || isProcessAlive(pid)) continue;
    await git.removeWorktree(join(worktreesDir, name));
  }
  await git.pruneWorktrees();
}

// What the toolsmith may commit: the three files of one generated tool.
function isCandidateFile(path: string): boolean {
  const name = path.split("/")[2] ?? "";
  return TOOL_NAME_PATTERN.test(name) && GENERATED_TOOL_FILES.some((file) => path === generatedToolPath(name, file));
}
