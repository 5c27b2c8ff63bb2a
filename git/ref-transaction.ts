import type { RepoGit } from "./repo-git.ts";

/** main moved from `mainBefore` to `newMain` with `tag` created there, while `verify.ref` still names `verify.commit`. */
export type MainMove = { mainBefore: string; newMain: string; tag: string; verify?: { ref: string; commit: string } };

/**
 * Moves main and creates the `promote/` or `rollback/` tag in ONE `update-ref --stdin` transaction with expected old
 * values (and a `verify` of the candidate ref): all of it happens or none. Throws `GitCommandError` when a ref moved
 * meanwhile. The one write of main's ref in org; only `cycle/` calls it (`testing/ref-movers.test.ts`).
 */
export async function moveMainAndTag(git: RepoGit, move: MainMove, signal?: AbortSignal): Promise<void> {
  const transaction = [
    "start",
    `update refs/heads/main ${move.newMain} ${move.mainBefore}`,
    `create refs/tags/${move.tag} ${move.newMain}`,
    ...(move.verify ? [`verify ${move.verify.ref} ${move.verify.commit}`] : []),
    "prepare",
    "commit",
    "",
  ].join("\n");
  await git.run(["update-ref", "--stdin"], { stdin: transaction, signal });
}
