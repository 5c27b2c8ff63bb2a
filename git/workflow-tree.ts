import { isWorkflowFilePath, WORKFLOW_FILE_NAME_PATTERN, WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import type { RepoGit } from "./repo-git.ts";
import { entries, mktree, subtree } from "./tool-tree.ts";

// A candidate may bring workflows as well as tools: `workflows/<name>.json`, JSON that runs only generated tools in the
// sandbox, never code of its own. These are the git reads and writes of that part of a tree.

/** The workflow files (names in `workflows/`) a diff between two commits adds, changes or deletes. */
export async function workflowsChanged(git: RepoGit, from: string, to: string, signal?: AbortSignal): Promise<string[]> {
  const changes = await git.changes(from, to, { paths: [`${WORKFLOWS_DIR}/`], signal });
  return [
    ...new Set(changes.filter((change) => isWorkflowFilePath(change.path)).map((change) => change.path.slice(WORKFLOWS_DIR.length + 1))),
  ].sort();
}

/** The blob id of `workflows/<name>` at a commit, or undefined when it has none there. */
export async function workflowBlobAt(git: RepoGit, commit: string, name: string, signal?: AbortSignal): Promise<string | undefined> {
  if (!WORKFLOW_FILE_NAME_PATTERN.test(name)) return undefined;
  const [entry] = await git.treeEntries(commit, { paths: [`${WORKFLOWS_DIR}/${name}`], signal });
  return entry?.type === "blob" && entry.mode === "100644" ? entry.id : undefined;
}

/**
 * The tree `tree` (a root tree id) with workflow files set: each name to the given blob id, or removed when it maps to
 * undefined (the folder goes when it ends empty); nothing else changes. Made from objects: no index or worktree is touched.
 */
export async function treeWithWorkflowBlobs(
  git: RepoGit,
  tree: string,
  blobs: ReadonlyMap<string, string | undefined>,
  signal?: AbortSignal,
): Promise<string> {
  for (const name of blobs.keys()) if (!WORKFLOW_FILE_NAME_PATTERN.test(name)) throw new Error(`${JSON.stringify(name)} is not a workflow file name`);
  const root = await entries(git, tree, signal);
  const folder = (await entries(git, subtree(root, WORKFLOWS_DIR), signal)).filter((entry) => !blobs.has(entry.name));
  for (const [name, id] of blobs) if (id) folder.push({ mode: "100644", type: "blob", id, name });
  const others = root.filter((entry) => entry.name !== WORKFLOWS_DIR);
  if (folder.length === 0) return await mktree(git, others, signal);
  return await mktree(git, [...others, { mode: "040000", type: "tree", id: await mktree(git, folder, signal), name: WORKFLOWS_DIR }], signal);
}

/** The tree `tree` with the given `workflows/<name>.json` contents written over it as regular, non-executable blobs. */
export async function treeWithWorkflowFiles(git: RepoGit, tree: string, files: ReadonlyMap<string, string>, signal?: AbortSignal): Promise<string> {
  const blobs = new Map<string, string>();
  for (const [name, content] of files) blobs.set(name, (await git.run(["hash-object", "-w", "--stdin"], { stdin: content, signal })).trim());
  return await treeWithWorkflowBlobs(git, tree, blobs, signal);
}

/** `tree` with each of `names` taken as `from` has it (removed where `from` has none). */
export async function treeWithWorkflowsOf(git: RepoGit, tree: string, from: string, names: readonly string[], signal?: AbortSignal): Promise<string> {
  if (names.length === 0) return tree;
  const blobs = new Map<string, string | undefined>();
  for (const name of names) blobs.set(name, await workflowBlobAt(git, from, name, signal));
  return await treeWithWorkflowBlobs(git, tree, blobs, signal);
}
