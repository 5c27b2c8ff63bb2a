import { mkdirSync } from "node:fs";
import { GitCommandError, RepoGit } from "./repo-git.ts";

// Git bundles for `org backup` and `org restore`: one file holding every ref of a repository and the objects they
// reach, checked by git itself, and a new repository filled from one.

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** A bundle is missing, damaged or not a bundle; the message carries git's own words and what to do. */
export class BundleError extends Error {
  override name = "BundleError";
  readonly userFacing = true;
}

/** `<object id> <ref>` lines (as for-each-ref and list-heads print them) as ref → object id. */
function refLines(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [id = "", ref = ""] = line.trim().split(" ");
    if (OBJECT_ID.test(id) && ref !== "") refs.set(ref, id);
  }
  return refs;
}

/** Every ref of the repository (`refs/heads/main`, `refs/tags/promote/…`) and the object it names. */
export async function listRefs(git: RepoGit, signal?: AbortSignal): Promise<Map<string, string>> {
  return refLines(await git.run(["for-each-ref", "--format=%(objectname) %(refname)"], { signal }));
}

/** Writes a bundle of every ref of the repository (`git bundle create FILE --all`) to `file`, which must not exist. */
export async function createBundle(git: RepoGit, file: string, signal?: AbortSignal): Promise<void> {
  try {
    await git.run(["bundle", "create", "--quiet", "--end-of-options", file, "--all"], { signal });
  } catch (error) {
    throw new BundleError(`could not bundle the refs of ${git.repoDir}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The refs a bundle holds (`git bundle list-heads`), ref → object id; HEAD is left out. */
export async function bundleHeads(git: RepoGit, file: string, signal?: AbortSignal): Promise<Map<string, string>> {
  let out: string;
  try {
    out = await git.run(["bundle", "list-heads", "--end-of-options", file], { signal });
  } catch (error) {
    throw new BundleError(`${file} is not a readable git bundle: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  const refs = refLines(out);
  refs.delete("HEAD");
  return refs;
}

/**
 * Checks a bundle with `git bundle verify` (its header, its pack, and that it needs no commit it lacks), run in the
 * repository of `git`, which may be empty. Throws BundleError with git's words when it does not verify.
 */
export async function verifyBundle(git: RepoGit, file: string, signal?: AbortSignal): Promise<void> {
  try {
    await git.run(["bundle", "verify", "--quiet", "--end-of-options", file], { signal });
  } catch (error) {
    const said = error instanceof GitCommandError ? error.message.replace(/^git bundle failed: /, "") : String(error);
    throw new BundleError(`the git bundle ${file} does not verify: ${said.split("\n").slice(0, 3).join(" ")}`);
  }
}

/** Makes `directory` (which must be empty) an empty repository whose HEAD is `main`. */
export async function initRepository(directory: string, signal?: AbortSignal): Promise<RepoGit> {
  mkdirSync(directory, { recursive: true });
  const git = new RepoGit(directory);
  await git.run(["init", "--quiet", "--initial-branch=main"], { signal });
  return git;
}

/**
 * Fills the empty repository of `git` from a bundle: every ref it holds, under the same name, then main's files checked
 * out with HEAD on main. Returns main's commit; throws BundleError when the bundle has no main or git refuses it.
 */
export async function restoreFromBundle(git: RepoGit, file: string, signal?: AbortSignal): Promise<string> {
  const heads = await bundleHeads(git, file, signal);
  if (!heads.has("refs/heads/main")) throw new BundleError(`the git bundle ${file} has no main branch; it is not a bundle org backup made`);
  try {
    // --update-head-ok: HEAD already names the unborn main, which the fetch creates.
    await git.run(["fetch", "--quiet", "--no-write-fetch-head", "--update-head-ok", "--end-of-options", file, "+refs/*:refs/*"], { signal });
    await git.run(["symbolic-ref", "HEAD", "refs/heads/main"], { signal });
    await git.run(["read-tree", "--reset", "-u", "HEAD"], { signal });
  } catch (error) {
    throw new BundleError(`could not fill ${git.repoDir} from ${file}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  const main = await git.resolveCommit("refs/heads/main");
  if (main === undefined || main !== heads.get("refs/heads/main")) throw new BundleError(`main in ${git.repoDir} is not the bundle's main after the fetch`);
  return main;
}
