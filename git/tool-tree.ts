import { GENERATED_TOOLS_DIR, isWorkflowFilePath, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { RepoGit } from "./repo-git.ts";

type TreeEntry = { mode: string; type: string; id: string; name: string };

/** The entries of a tree (none for no tree). */
export async function entries(git: RepoGit, tree: string | undefined, signal?: AbortSignal): Promise<TreeEntry[]> {
  if (!tree) return [];
  return (await git.treeEntries(tree, { signal })).map(({ mode, type, id, path }) => ({ mode, type, id, name: path }));
}

/** A tree made of `list`. */
export async function mktree(git: RepoGit, list: TreeEntry[], signal?: AbortSignal): Promise<string> {
  const input = list.map((entry) => `${entry.mode} ${entry.type} ${entry.id}\t${entry.name}\0`).join("");
  return (await git.run(["mktree", "-z"], { stdin: input, signal })).trim();
}

/** The id of the subtree `name` of a tree's entries. */
export function subtree(parent: TreeEntry[], name: string): string | undefined {
  return parent.find((entry) => entry.name === name && entry.type === "tree")?.id;
}

/**
 * The tree of `commit` with some `tools/generated/<tool>/` folders replaced: each named tool gets the given
 * tree id, or is removed when it maps to undefined; nothing else changes. Built with `ls-tree` and `mktree`, no
 * index or worktree touched, so it works on any git (promoted tools are disjoint folders: no three-way merge).
 */
export async function treeWithToolFolders(
  git: RepoGit,
  commit: string,
  folders: Map<string, string | undefined>,
  signal?: AbortSignal,
): Promise<string> {
  for (const name of folders.keys()) if (!TOOL_NAME_PATTERN.test(name)) throw new Error(`${JSON.stringify(name)} is not a tool name`);
  const [toolsName = "tools", generatedName = "generated"] = GENERATED_TOOLS_DIR.split("/");
  const root = await entries(git, `${commit}^{tree}`, signal);
  const tools = await entries(git, subtree(root, toolsName), signal);
  const generated = await entries(git, subtree(tools, generatedName), signal);
  const kept = generated.filter((entry) => !folders.has(entry.name));
  for (const [name, id] of folders) if (id) kept.push({ mode: "040000", type: "tree", id, name });
  const replace = (list: TreeEntry[], name: string, id: string | undefined) => [
    ...list.filter((entry) => entry.name !== name),
    ...(id ? [{ mode: "040000", type: "tree", id, name }] : []),
  ];
  const generatedTree = kept.length > 0 ? await mktree(git, kept, signal) : undefined;
  const toolsList = replace(tools, generatedName, generatedTree);
  const toolsTree = toolsList.length > 0 ? await mktree(git, toolsList, signal) : undefined;
  return await mktree(git, replace(root, toolsName, toolsTree), signal);
}

/** The names of the tool folders under `tools/generated/` at a commit (none when it has no such folder). */
export async function toolNamesAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Set<string>> {
  const entries = await git.treeEntries(commit, { paths: [`${GENERATED_TOOLS_DIR}/`], signal });
  const names = entries.filter((entry) => entry.type === "tree").map((entry) => entry.path.split("/").at(-1) ?? "");
  return new Set(names.filter((name) => TOOL_NAME_PATTERN.test(name)));
}

/**
 * Every tool folder under `tools/generated/` at a commit: name → tree id, from one `ls-tree` (none when the commit
 * has no such folder or is no commit). For a caller that compares many tools' folders: `toolFolderTree` reads one.
 */
export async function toolFoldersAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, string>> {
  const entries = await git.treeEntries(commit, { paths: [`${GENERATED_TOOLS_DIR}/`], signal }).catch(() => []);
  const folders = new Map<string, string>();
  for (const entry of entries) {
    const name = entry.path.slice(GENERATED_TOOLS_DIR.length + 1);
    if (entry.type === "tree" && TOOL_NAME_PATTERN.test(name)) folders.set(name, entry.id);
  }
  return folders;
}

/** The tree id of `tools/generated/<tool>` at a commit, or undefined when it has none. */
export async function toolFolderTree(git: RepoGit, commit: string, tool: string, signal?: AbortSignal): Promise<string | undefined> {
  if (!TOOL_NAME_PATTERN.test(tool)) return undefined;
  const [entry] = await git.treeEntries(commit, { paths: [`${GENERATED_TOOLS_DIR}/${tool}`], signal }).catch(() => []);
  return entry?.type === "tree" ? entry.id : undefined;
}

/**
 * A tool folder's tree: the entries of `tree` (a folder's tree id, or none) with `files` (name → content) written
 * as regular, non-executable blobs over them.
 */
export async function folderTreeWith(git: RepoGit, tree: string | undefined, files: Map<string, string>, signal?: AbortSignal): Promise<string> {
  const list = (await entries(git, tree, signal)).filter((entry) => !files.has(entry.name));
  for (const [name, content] of files) {
    if (name === "" || name.includes("/") || name === "." || name === "..") throw new Error(`${JSON.stringify(name)} is not a file name`);
    const id = (await git.run(["hash-object", "-w", "--stdin"], { stdin: content, signal })).trim();
    list.push({ mode: "100644", type: "blob", id, name });
  }
  return await mktree(git, list, signal);
}

/**
 * Whether a diff between two commits changes anything but a candidate's content (tools/generated/ and the
 * `workflows/<name>.json` files, which run only through the sandbox): a promotion let through with --allow-core.
 */
export async function changesOutsideTools(git: RepoGit, from: string, to: string, signal?: AbortSignal): Promise<boolean> {
  return (await git.changes(from, to, { signal })).some(
    (change) => !change.path.startsWith(`${GENERATED_TOOLS_DIR}/`) && !isWorkflowFilePath(change.path),
  );
}

/** The generated tools a diff between two commits adds or changes (folder names under tools/generated/). */
export async function toolsChanged(git: RepoGit, from: string, to: string, signal?: AbortSignal): Promise<string[]> {
  const changes = await git.changes(from, to, { paths: [`${GENERATED_TOOLS_DIR}/`], signal });
  const names = changes.map((change) => change.path.split("/")[2] ?? "").filter((name) => TOOL_NAME_PATTERN.test(name));
  return [...new Set(names)].sort();
}

/**
 * Every file of `commit` outside `tools/generated/` and the workflow files: path → mode and object id. What a candidate may not change
 * (protected core), so a candidate and its main have the same; read from git, nothing checked out.
 */
export async function filesOutsideTools(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await git.treeEntries(commit, { recursive: true, signal })) {
    if (!entry.path.startsWith(`${GENERATED_TOOLS_DIR}/`) && !isWorkflowFilePath(entry.path)) files.set(entry.path, `${entry.mode} ${entry.id}`);
  }
  return files;
}
