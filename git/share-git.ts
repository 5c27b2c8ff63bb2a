import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { GitCommandError } from "./git-command-error.ts";
import type { RepoGit } from "./repo-git.ts";
import { spawnGit } from "./run-git.ts";
import { mktree } from "./tool-tree.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import { OrgError } from "../errors/org-error.ts";

// git for sharing tools through a team's remote. Unlike RepoGit's commands, these run with the person's own git setup
// (their identity, their remote's URL and credentials, their ssh), since a push or a signature is theirs; what could
// make git run something else here is still off (hooks, replace refs), and the signing settings are given per command
// (`-c gpg.format=ssh -c user.signingkey=…`), never written to anyone's config.
const SAFE = ["core.hooksPath=/dev/null", "core.useReplaceRefs=false", "core.autocrlf=false"].flatMap((setting) => ["-c", setting]);

const UNREACHED = "Nothing changed here. Check the URL ('org share remote URL' sets it) and that your own git reaches it: git ls-remote URL";

/** The remote could not be reached or refused what was asked, with git's own words; nothing changed here. */
export class ShareRemoteError extends OrgError {
  override name = "ShareRemoteError";
}

/** What the person's git runs with: their environment (without what steers git elsewhere) and a bound on each call. */
export type PersonGit = { env: Record<string, string>; timeoutMs: number; signal?: AbortSignal };

async function run(person: PersonGit, cwd: string, args: string[], stdin?: string) {
  return await spawnGit([...SAFE, ...args], {
    cwd,
    env: person.env,
    timeoutMs: person.timeoutMs,
    ...(stdin !== undefined ? { stdin } : {}),
    ...(person.signal ? { signal: person.signal } : {}),
  });
}

/** `git config --get NAME` as the person's git reads it outside any repository; undefined when unset. */
export async function personGitConfig(person: PersonGit, cwd: string, name: string): Promise<string | undefined> {
  const { stdout, exitCode } = await run(person, cwd, ["config", "--get", name]);
  return exitCode === 0 ? stdout.toString().trim() || undefined : undefined;
}

/** Who the person's git says they are (`Name <email>`), or undefined when their git has no identity. */
export async function personIdentity(person: PersonGit, cwd: string): Promise<string | undefined> {
  const { stdout, exitCode } = await run(person, cwd, ["var", "GIT_COMMITTER_IDENT"]);
  return exitCode === 0 ? /^(.*>)/.exec(stdout.toString().trim())?.[1] : undefined;
}

/**
 * A parentless commit of `tree` in `git`'s repository, signed with `signingKey` under git's SSH signing and the
 * person's identity; its id. The settings are this command's alone.
 */
export async function signedCommit(git: RepoGit, person: PersonGit, tree: string, message: string, signingKey: string): Promise<string> {
  const args = ["-c", "gpg.format=ssh", "-c", `user.signingkey=${signingKey}`, "commit-tree", "-S", "-F", "-", "--end-of-options", tree];
  const { stdout, stderr, exitCode } = await run(person, git.repoDir, args, message);
  if (exitCode !== 0) throw new GitCommandError(`signing the commit failed: ${stderr.trim().split("\n").slice(-3).join(" ")}`);
  return stdout.toString().trim();
}

/** How git judged a commit's signature against an allowed-signers file: `%G?` and, when known, the principal and key. */
export type SignatureCheck = { status: string; principal: string; fingerprint: string };

/** The signature of `commit` as `git log --format=%G?` reads it with `allowedSignersFile`; reads no config of the person's. */
export async function signatureOf(git: RepoGit, person: PersonGit, commit: string, allowedSignersFile: string): Promise<SignatureCheck> {
  const args = [
    "-c",
    "gpg.format=ssh",
    "-c",
    `gpg.ssh.allowedSignersFile=${allowedSignersFile}`,
    "log",
    "-1",
    "--format=%G?%x00%GS%x00%GF",
    commit,
    "--",
  ];
  const { stdout, stderr, exitCode } = await run(person, git.repoDir, args);
  if (exitCode !== 0) throw new GitCommandError(`reading the signature of ${commit} failed: ${stderr.trim()}`);
  const [status = "N", principal = "", fingerprint = ""] = stdout.toString().trim().split("\0");
  return { status, principal, fingerprint };
}

/** The refs `url` holds under `patterns` (ref → commit), bounded by the call's timeout. */
export async function remoteRefs(person: PersonGit, cwd: string, url: string, patterns: string[]): Promise<Map<string, string>> {
  const { stdout, stderr, exitCode } = await run(person, cwd, ["ls-remote", "--end-of-options", url, ...patterns]);
  if (exitCode !== 0)
    throw new ShareRemoteError(`the share remote ${url} did not answer: ${gitSaid(stderr) || silence(person)}`, { nextStep: UNREACHED });
  const refs = new Map<string, string>();
  for (const line of stdout.toString().split("\n")) {
    const [commit, ref] = line.split("\t");
    if (commit && ref) refs.set(ref, commit);
  }
  return refs;
}

/** Outcome of one push: done, refused because the ref moved or was taken meanwhile (retry), or failed for another reason. */
export type PushOutcome = { kind: "pushed" } | { kind: "rejected"; detail: string } | { kind: "failed"; detail: string };

/** Pushes `commit` to `ref` of `url` without forcing; a ref that exists already is `rejected`. */
export async function pushCommit(git: RepoGit, person: PersonGit, url: string, commit: string, ref: string): Promise<PushOutcome> {
  const { stderr, exitCode } = await run(person, git.repoDir, ["push", "--porcelain", "--end-of-options", url, `${commit}:${ref}`]);
  if (exitCode === 0) return { kind: "pushed" };
  const detail = gitSaid(stderr) || silence(person);
  return /rejected|cannot lock|failed to update|already exists|fetch first/i.test(stderr) ? { kind: "rejected", detail } : { kind: "failed", detail };
}

/**
 * Fetches the refs under each of `namespaces` (`refs/org/offers/`) from `url` into `git` under `into` (with the
 * namespace's last name kept, `<into>offers/…`, stale ones pruned) through a quarantine: a throw-away bare repository that the fetch fills
 * while its size is watched (killed past `maxBytes`), then copied into `git` by a local fetch. A remote that sends more
 * than `maxBytes` is refused and leaves nothing here.
 */
export async function quarantinedFetch(
  git: RepoGit,
  person: PersonGit,
  url: string,
  namespaces: string[],
  into: string,
  bounds: { maxRefs: number; maxBytes: number },
): Promise<void> {
  const { maxRefs, maxBytes } = bounds;
  const quarantine = ownedTempDir("share-fetch");
  try {
    const init = await run(person, quarantine, ["init", "--quiet", "--bare", quarantine]);
    if (init.exitCode !== 0) throw new GitCommandError(`git init failed: ${init.stderr.trim()}`);
    const watch = new AbortController();
    let over = false;
    const watcher = setInterval(() => {
      if (folderBytes(quarantine) <= maxBytes) return;
      over = true;
      watch.abort();
    }, 100);
    const signal = person.signal ? AbortSignal.any([person.signal, watch.signal]) : watch.signal;
    const mirror = namespaces.map((space) => `+${space}*:${space}*`);
    const fetched = await run({ ...person, signal }, quarantine, [
      "fetch",
      "--no-tags",
      "--no-write-fetch-head",
      "--end-of-options",
      url,
      ...mirror,
    ]).finally(() => clearInterval(watcher));
    if (over || folderBytes(quarantine) > maxBytes)
      throw new ShareRemoteError(`the share remote ${url} sent more than ${maxBytes} bytes of offers: refused, nothing was kept`);
    // The remote may have grown between the count and the fetch: what came is counted again before any of it is kept.
    const came = await run(person, quarantine, ["for-each-ref", "--format=%(refname)"]);
    const refs = came.stdout.toString().split("\n").filter(Boolean).length;
    if (refs > maxRefs)
      throw new ShareRemoteError(`the share remote ${url} sent ${refs} refs, more than the ${maxRefs} a pull takes: refused, nothing was kept`);
    if (fetched.exitCode !== 0)
      throw new ShareRemoteError(`fetching from the share remote ${url} failed: ${gitSaid(fetched.stderr) || silence(person)}`, {
        nextStep: UNREACHED,
      });
    const local = await run(person, git.repoDir, [
      "fetch",
      "--no-tags",
      "--no-write-fetch-head",
      "--prune",
      "--end-of-options",
      quarantine,
      ...namespaces.map((space) => `+${space}*:${into}${lastSegment(space)}*`),
    ]);
    if (local.exitCode !== 0) throw new GitCommandError(`copying the fetched offers failed: ${local.stderr.trim()}`);
  } finally {
    rmSync(quarantine, { recursive: true, force: true });
  }
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name), { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

// `refs/org/offers/` → `offers/`.
function lastSegment(namespace: string): string {
  return namespace.slice(namespace.lastIndexOf("/", namespace.length - 2) + 1);
}

// git said nothing: it was stopped, by the call's bound or by the person.
function silence(person: PersonGit): string {
  return person.signal?.aborted ? "stopped" : `no answer within ${Math.round(person.timeoutMs / 1000)} s (nothing changed here; try again later)`;
}

/**
 * What git said went wrong, in one line: its lines up to the advice it ends a failed remote call with ("Please make
 * sure you have the correct access rights and the repository exists."), which alone names nothing; at most three.
 */
function gitSaid(text: string): string {
  const lines = text.split("\n").map((line) => line.trim());
  const advice = lines.findIndex((line) => line.startsWith("Please make sure you have the correct access rights"));
  const said = (advice > 0 ? lines.slice(0, advice) : lines).filter(Boolean);
  return said.slice(0, 3).join(" ");
}

/**
 * The tree of an offer or a recall: `file` (its name and text) and, when given, `folder` (a tree id, the tool's folder as
 * promoted) as `files/`; written to `git`'s objects, nothing checked out.
 */
export async function shareTree(git: RepoGit, file: { name: string; text: string }, folder?: string, signal?: AbortSignal): Promise<string> {
  const blob = (await git.run(["hash-object", "-w", "--stdin"], { stdin: file.text, signal })).trim();
  const list = [{ mode: "100644", type: "blob", id: blob, name: file.name }];
  if (folder) list.push({ mode: "040000", type: "tree", id: folder, name: "files" });
  return await mktree(git, list, signal);
}

/** The parents of `commit` (none for a root commit); throws when it names no commit. */
export async function commitParents(git: RepoGit, commit: string, signal?: AbortSignal): Promise<string[]> {
  const line = (await git.run(["rev-list", "--parents", "-n", "1", "--end-of-options", commit], { signal })).trim();
  return line.split(" ").slice(1);
}

/** Every ref under `prefix` and the commit it names. */
export async function refsUnder(git: RepoGit, prefix: string, signal?: AbortSignal): Promise<Map<string, string>> {
  const text = await git.run(["for-each-ref", "--format=%(refname) %(objectname)", "--end-of-options", prefix], { signal });
  const refs = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [ref, commit] = line.split(" ");
    if (ref && commit) refs.set(ref, commit);
  }
  return refs;
}
