import { WORKFLOW_FILE_NAME_PATTERN, WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import type { RepoGit } from "./repo-git.ts";
import { entries, mktree, subtree } from "./tool-tree.ts";

/** Whether a repository path is a workflow file a candidate may bring: `workflows/<name>.json`. */
export const isWorkflowFilePath = (path: string): boolean => {
  const [folder, file = "", ...rest] = path.split("/");
  return folder === WORKFLOWS_DIR && rest.length === 0 && WORKFLOW_FILE_NAME_PATTERN.test(file);
};

/**
 * The tree `tree` (a root tree id) with the given `workflows/<name>.json` files written over it as regular,
 * non-executable blobs; nothing else changes. Made from objects: no index or worktree is touched.
 */
export async function treeWithWorkflowFiles(git: RepoGit, tree: string, files: ReadonlyMap<string, string>, signal?: AbortSignal): Promise<string> {
  const root = await entries(git, tree, signal);
  const folder = (await entries(git, subtree(root, WORKFLOWS_DIR), signal)).filter((entry) => !files.has(entry.name));
  for (const [name, content] of files) {
    if (!WORKFLOW_FILE_NAME_PATTERN.test(name)) throw new Error(`${JSON.stringify(name)} is not a workflow file name`);
    const id = (await git.run(["hash-object", "-w", "--stdin"], { stdin: content, signal })).trim();
    folder.push({ mode: "100644", type: "blob", id, name });
  }
  const folderTree = await mktree(git, folder, signal);
  return await mktree(
    git,
    [...root.filter((entry) => entry.name !== WORKFLOWS_DIR), { mode: "040000", type: "tree", id: folderTree, name: WORKFLOWS_DIR }],
    signal,
  );
}
