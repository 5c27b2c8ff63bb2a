import { realpathSync } from "node:fs";
import { join, relative } from "node:path";
import { executableSearchPath } from "../../config/environment.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { shellWord } from "../../security/shell-word.ts";

/** The checkout org runs from. */
export const REPO_DIR = CHECKOUT_DIR;

/** The checkout's launcher, `bin/org`: `npm link` puts it on PATH as `org`. */
export const LAUNCHER = join(REPO_DIR, "bin", "org");

/** A file of the checkout as the user can type it from `cwd`: relative inside the checkout, absolute elsewhere. */
export function orgPath(file: string, cwd = process.cwd()): string {
  return shellWord(relative(REPO_DIR, cwd) === "" ? file : join(REPO_DIR, file));
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The command that starts org again, runnable from any directory: `org` when the `org` on PATH is this
 * checkout's launcher (after `npm link`), else the launcher's absolute path.
 */
export function orgInvocation(orgOnPath: string | null = Bun.which("org", { PATH: executableSearchPath() })): string {
  return orgOnPath !== null && sameFile(orgOnPath, LAUNCHER) ? "org" : shellWord(LAUNCHER);
}

/** How to run the org of checkout `repoDir` from any directory: this checkout's invocation, else that checkout's launcher (its bin/org). */
export function orgOf(repoDir: string): string {
  return sameFile(repoDir, REPO_DIR) ? orgInvocation() : shellWord(join(repoDir, "bin", "org"));
}

/** The commands that judge `branch` (default: the newest candidate) of checkout `repoDir`, runnable from any directory. */
export function judgeCommands(repoDir: string, branch?: string): string {
  const org = orgOf(repoDir);
  return `${org} instance start candidate${branch ? ` ${shellWord(branch)}` : ""} && ${org} fitness`;
}
