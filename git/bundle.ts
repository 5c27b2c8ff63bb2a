import { mkdirSync } from "node:fs";
import { GitCommandError } from "./git-command-error.ts";
import { isObjectId } from "./ref-names.ts";
import { RepoGit } from "./repo-git.ts";
import { OrgError } from "../errors/org-error.ts";

// What `org backup` and `org restore` need of git beside RepoGit's bundles (createBundle, verifyBundle, bundleHeads):
// the refs a bundle is made of, read together, and a new repository filled from a bundle.

/** A bundle is damaged or not one org made, or a repository cannot be filled from it; the message says which. */
export class BundleError extends OrgError {
  override name = "BundleError";
}

/**
 * Every ref of the repository (branches, tags, notes, any other under refs/) and the object it names: what
 * `createBundle` puts in a bundle, HEAD aside.
 */
export async function listRefs(git: RepoGit, signal?: AbortSignal): Promise<Map<string, string>> {
  const out = await git.run(["for-each-ref", "--format=%(objectname) %(refname)", "refs/"], { signal });
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [id = "", ref = ""] = line.trim().split(" ");
    if (isObjectId(id) && ref !== "") refs.set(ref, id);
  }
  return refs;
}

/** The refs of a bundle, HEAD aside: ref → commit. */
export async function bundleRefs(git: RepoGit, file: string, signal?: AbortSignal): Promise<Map<string, string>> {
  try {
    return new Map((await git.bundleHeads(file, signal)).filter((head) => head.ref !== "HEAD").map((head) => [head.ref, head.commit]));
  } catch (error) {
    throw new BundleError(`${file} is not a readable git bundle: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
}

/** Makes `directory` (made when missing; it must hold no repository) an empty repository whose HEAD is `main`. */
export async function emptyRepository(directory: string, signal?: AbortSignal): Promise<RepoGit> {
  mkdirSync(directory, { recursive: true });
  const git = new RepoGit(directory);
  await git.run(["init", "--quiet", "--initial-branch=main"], { signal });
  return git;
}

/** The refs a restore leaves out of a bundle: `refs/replace/` would make git show other objects than those named. */
export const REPLACE_REFS = "refs/replace/";

/**
 * Fills the empty repository of `git` from a bundle it verified: every ref under the same name but `refs/replace/`
 * (left out, and named in `leftOut`), then HEAD on main, whose files `checkOut` writes. Returns main's commit; throws
 * BundleError when the bundle has no main or git refuses it.
 */
export async function fetchBundle(git: RepoGit, file: string, signal?: AbortSignal): Promise<{ main: string; leftOut: string[] }> {
  const heads = await bundleRefs(git, file, signal);
  const wanted = heads.get("refs/heads/main");
  if (wanted === undefined) throw new BundleError(`the git bundle ${file} has no main branch; it is not a bundle org backup made`);
  try {
    // --update-head-ok: HEAD already names the unborn main, which the fetch creates.
    await git.run(
      ["fetch", "--quiet", "--no-write-fetch-head", "--update-head-ok", "--end-of-options", file, "+refs/*:refs/*", `^${REPLACE_REFS}*`],
      {
        signal,
      },
    );
    await git.run(["symbolic-ref", "HEAD", "refs/heads/main"], { signal });
  } catch (error) {
    const said = error instanceof GitCommandError ? error.message.split("\n")[0] : String(error);
    throw new BundleError(`could not fill ${git.repoDir} from ${file}: ${said}`);
  }
  const main = await git.resolveCommit("refs/heads/main");
  if (main === undefined || main !== wanted) throw new BundleError(`main in ${git.repoDir} is not the bundle's main after the fetch`);
  return { main, leftOut: [...heads.keys()].filter((ref) => ref.startsWith(REPLACE_REFS)) };
}

/** Writes HEAD's files into the repository's folder (a new one's: nothing there is kept). */
export async function checkOut(git: RepoGit, signal?: AbortSignal): Promise<void> {
  try {
    await git.run(["read-tree", "--reset", "-u", "HEAD"], { signal });
  } catch (error) {
    const said = error instanceof GitCommandError ? error.message.split("\n")[0] : String(error);
    throw new BundleError(`could not check out main in ${git.repoDir}: ${said}`);
  }
}
