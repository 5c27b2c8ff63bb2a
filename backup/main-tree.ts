import { ORG_DIR } from "../config/workspace-paths.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { folded } from "../workspace/check-change-set.ts";
import { BadBackupError, shownName } from "./check-backup.ts";

/**
 * What a restore would check out of main, read from a repository the bundle was fetched into: its top-level names and
 * the bytes of its files. Throws BadBackupError when the tree holds `.org` at its top (a link, a file or a folder,
 * in any case): checked out, it would take the place of the state a restore puts there. A checkout org backs up never
 * tracks `.org` (its `.gitignore` holds `*`).
 */
export async function mainTree(git: RepoGit, main: string, signal?: AbortSignal): Promise<{ top: string[]; bytes: number }> {
  const top = await git.treeEntries(main, { signal });
  const reserved = top.find((entry) => folded(entry.path) === ORG_DIR);
  if (reserved) {
    const kind = reserved.mode === "120000" ? "a link" : reserved.type === "tree" ? "a folder" : "a file";
    throw new BadBackupError(
      `main's tree in the git bundle holds ${shownName(reserved.path)} (${kind}), where a restore keeps org's ` +
        `state; a checkout org backs up never tracks .org, so this backup is not one org made`,
    );
  }
  const files = await git.treeEntries(main, { recursive: true, sizes: true, signal });
  return { top: top.map((entry) => entry.path), bytes: files.reduce((sum, entry) => sum + (entry.size ?? 0), 0) };
}
