import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { RepoGit } from "./repo-git.ts";

/**
 * Keeps `file` (a name at the checkout's top) out of `git status` through the checkout's own `.git/info/exclude`, when
 * git shows it as untracked there; nothing else is changed (a tracked or already ignored file stays as it is). `why`
 * is written beside the line. Whether it was added.
 */
export async function excludeIfUntracked(git: RepoGit, file: string, why: string, signal?: AbortSignal): Promise<boolean> {
  const status = await git.run(["status", "--porcelain", "--ignored", "--untracked-files=all", "--", file], { signal });
  if (!status.startsWith("?? ")) return false;
  const exclude = resolve(git.repoDir, (await git.run(["rev-parse", "--git-path", "info/exclude"], { signal })).trim());
  mkdirSync(dirname(exclude), { recursive: true });
  const before = existsSync(exclude) ? readFileSync(exclude, "utf8") : "";
  appendFileSync(exclude, `${before === "" || before.endsWith("\n") ? "" : "\n"}# ${why}\n/${file}\n`);
  return true;
}
