import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { initRepository } from "../git/init-repository.ts";
import type { RepoGit } from "../git/repo-git.ts";

/**
 * A throw-away git repository in a new folder of `parentDir`, with a `main` commit, where `org demo`'s toolsmith lands
 * its candidate branch and the demo's gate promotes it: never the org checkout.
 */
export async function demoRepository(parentDir: string, signal: AbortSignal): Promise<RepoGit> {
  const dir = mkdtempSync(join(parentDir, "toolsmith-repo-"));
  // Validation runs as the sandbox's uid, which must pass through the repository's folder.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "README.md"), "A throw-away repository for org demo: the toolsmith's candidate branches land here.\n");
  // The gate's reports, worktrees and key live in .org/, which is no part of the repository's files.
  writeFileSync(join(dir, ".gitignore"), `${ORG_DIR}/\n`);
  return await initRepository(dir, { paths: ["README.md", ".gitignore"], message: "demo: a main for candidate branches" }, signal);
}

/** The candidate branch the demo's toolsmith landed in `git`, the demo's repository (it lands one); undefined when it made none. */
export async function demoCandidateBranch(git: RepoGit, signal: AbortSignal): Promise<string | undefined> {
  return (await git.candidateRefs(signal)).refs[0]?.branch;
}
