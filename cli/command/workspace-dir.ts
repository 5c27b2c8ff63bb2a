import { existsSync, mkdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ensureOrgDir } from "../../security/private-state.ts";
import { OrgError } from "../../errors/org-error.ts";

/**
 * Resolves the workspace a command works in: refuses a path that is not a directory, makes a missing one
 * (saying so on stderr), and makes or checks its `.org/`: a real directory of this user's, mode 0700, or org
 * refuses to start, naming it and why.
 */
export function prepareWorkspace(path: string, flag = "--workspace"): string {
  const workspaceDir = resolve(path);
  if (existsSync(workspaceDir) && !statSync(workspaceDir).isDirectory()) {
    throw new OrgError(`${flag} ${path} is a file, not a directory. Give a directory (a missing one is made).`);
  }
  if (!existsSync(workspaceDir)) {
    mkdirSync(workspaceDir, { recursive: true });
    process.stderr.write(`org: made the workspace directory ${workspaceDir}\n`);
  }
  ensureOrgDir(workspaceDir);
  return workspaceDir;
}
