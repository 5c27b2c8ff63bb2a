import { resolve } from "node:path";

/**
 * What a backup of checkout `repoDir` and workspace `workspaceDir` holds and what it does not, as a person reads it: the
 * checkout's refs (its committed history), the `.org/` state and the workspace's org.config.json; never the workspace's
 * own files (a project's code and data), nor anything uncommitted.
 */
export function backupHolds(repoDir: string, workspaceDir: string): string {
  if (resolve(repoDir) === resolve(workspaceDir))
    return `holds ${repoDir}'s git refs (its committed history), its .org/ state and its org.config.json; not its uncommitted files`;
  return (
    `holds org's git refs (${repoDir}), the .org/ state there and in ${workspaceDir}, and that workspace's ` +
    `org.config.json; not the workspace's own files (keep those in their own repository or backup)`
  );
}
