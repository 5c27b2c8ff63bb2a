import { existsSync, lstatSync, realpathSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { WORKTREES_DIR } from "../config/workspace-paths.ts";
import { bundlePackOffset } from "./bundle-pack.ts";
import { type FileChange, parseRawDiff } from "./file-change.ts";
import { GitCommandError } from "./git-command-error.ts";
import { NotACheckoutError } from "./not-a-checkout-error.ts";
import { CANDIDATE_BRANCH_PATTERN, CANDIDATE_REFS_PREFIX, isObjectId, PROMOTION_TAG_PATTERN, type PromotionTagKind } from "./ref-names.ts";
import { parseTreeEntries, type TreeEntry } from "./tree-entry.ts";
import { parseWorktreeList, type Worktree } from "./worktree-entry.ts";
import { spawnGit } from "./run-git.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";

// Every command of a RepoGit runs with these: hooks off, no replace refs, no signing, a fixed identity, LF kept.
const GIT_CONFIG = [
  "core.hooksPath=/dev/null",
  // A user's core.autocrlf would check promoted tools out with CRLF, and their metadata hashes would no longer match.
  "core.autocrlf=false",
  // org names objects by id and means exactly them: a `refs/replace/` ref (a bundle or a fetch could bring one)
  // would make git show another commit or tree in their place (GIT_NO_REPLACE_OBJECTS, as config).
  "core.useReplaceRefs=false",
  "commit.gpgSign=false",
  "tag.gpgSign=false",
  "user.name=org toolsmith",
  "user.email=toolsmith@org.invalid",
].flatMap((setting) => ["-c", setting]);

/** A `cand/<UTC second>` branch and the commit it names. */
export type CandidateRef = { branch: string; commit: string /** The commit's date (ISO 8601). */; committedAt: string };
/** A `promote/…` or `rollback/…` tag, the commit it names and that commit's message. */
export type PromotionTag = { name: string; commit: string; message: string };
/** A ref a bundle carries, and its commit. */
export type BundleHead = { ref: string; commit: string };
/** What `git merge-tree --write-tree` made of two commits: the merged tree, or the conflicts it names. */
export type MergedTree = { tree: string } | { conflicts: string[] };

/**
 * git for one repository, each command a process of `spawnGit` (`run-git.ts`): one at a time, hooks off, no signing,
 * a fixed identity, and stdin for `update-ref --stdin` ref transactions and `mktree`. The typed reads and writes below are
 * what the rest of org calls; `run` (raw argv) is for git/'s own modules (testing/git-owner.test.ts holds that).
 */
export class RepoGit {
  readonly repoDir: string;
  // One git process at a time for this value, its worktrees included. An entry point makes one per repository and hands
  // it down; between two values, as between two processes, git's own lock files refuse a second writer of an index or ref.
  readonly #lock = new FifoSemaphore(1);

  constructor(repoDir: string) {
    this.repoDir = realpathSync(repoDir);
  }

  /** Whether `directory` is a git checkout (a `.git` folder, or a worktree's `.git` file, at its root). */
  static isCheckout(directory: string): boolean {
    return existsSync(join(directory, ".git"));
  }

  /** The repository of checkout `directory`; a folder that is none is refused with `whatToGive` (the one refusal every command gives). */
  static openCheckout(directory: string, whatToGive: string): RepoGit {
    if (!RepoGit.isCheckout(directory)) throw new NotACheckoutError(directory, whatToGive);
    return new RepoGit(directory);
  }

  /** Whether this repository's folder is a checkout rather than a folder inside one or a bare repository. */
  isCheckout(): boolean {
    return RepoGit.isCheckout(this.repoDir);
  }

  /** Runs `git <args>` in `directory` (the repository by default), after every earlier command of this value. For git/ only. */
  async run(args: string[], options: { directory?: string; stdin?: string; signal?: AbortSignal } = {}): Promise<string> {
    const release = await this.#lock.acquire({ signal: options.signal });
    try {
      // The signal only stops the wait for the lock: a git killed in the middle of a write could leave a lock file.
      const { stdout, stderr, exitCode } = await spawnGit([...GIT_CONFIG, ...args], {
        cwd: options.directory ?? this.repoDir,
        ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      });
      // A command that exits non-zero but says nothing on stderr answered (merge-tree's conflicts, a --quiet check).
      if (exitCode !== 0 && stderr.length > 0) throw new Error(`${stdout.toString()}${stderr}`);
      return stdout.toString();
    } catch (error) {
      const message = error instanceof Error ? error.message.trim() : String(error);
      throw new GitCommandError(`git ${args[0]} failed: ${message}`, { cause: error });
    } finally {
      release();
    }
  }

  /**
   * The contents of blobs by object id, read with one `git cat-file --batch` (after every earlier command of this
   * value) rather than a process each; throws when an id is no object id, or names no blob git has.
   */
  async readBlobs(ids: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Map<string, Buffer>> {
    const wanted = [...new Set(ids)];
    const bad = wanted.find((id) => !isObjectId(id));
    if (bad !== undefined) throw new GitCommandError(`git cat-file failed: ${JSON.stringify(bad.slice(0, 80))} is no object id`);
    const blobs = new Map<string, Buffer>();
    if (wanted.length === 0) return blobs;
    const release = await this.#lock.acquire({ signal: options.signal });
    try {
      const {
        stdout: bytes,
        stderr,
        exitCode,
      } = await spawnGit([...GIT_CONFIG, "cat-file", "--batch"], {
        cwd: this.repoDir,
        stdin: `${wanted.join("\n")}\n`,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (exitCode !== 0) throw new GitCommandError(`git cat-file failed: ${stderr.trim()}`);
      let at = 0;
      for (const id of wanted) {
        const end = bytes.indexOf(0x0a, at);
        const header = bytes.toString("utf8", at, end < 0 ? bytes.length : end).split(" ");
        if (end < 0 || header[0] !== id || header[1] !== "blob" || !/^\d+$/.test(header[2] ?? ""))
          throw new GitCommandError(`git cat-file failed: ${id} is no blob git has (${header.join(" ").slice(0, 120)})`);
        const size = Number(header[2]);
        blobs.set(id, bytes.subarray(end + 1, end + 1 + size));
        at = end + 1 + size + 1;
      }
      return blobs;
    } finally {
      release();
    }
  }

  /** The commit a revision names, or undefined when it names none. */
  async resolveCommit(revision: string): Promise<string | undefined> {
    return await this.#resolve(`${revision}^{commit}`);
  }

  /**
   * The commits many revisions name, with one `cat-file --batch-check` rather than a `rev-parse` each: revision →
   * commit, absent when it names none (as is a revision with a line break or surrounding blanks, which the batch
   * would read as another).
   */
  async resolveCommits(revisions: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const wanted = [...new Set(revisions)].filter((revision) => revision !== "" && revision.trim() === revision && !/[\n\r]/.test(revision));
    const commits = new Map<string, string>();
    if (wanted.length === 0) return commits;
    const out = await this.run(["cat-file", "--batch-check=%(objectname) %(objecttype)"], {
      stdin: wanted.map((revision) => `${revision}^{commit}\n`).join(""),
      signal,
    });
    // One line an asked name, in order: `<id> commit`, or the name and `missing` (or `ambiguous`).
    for (const [index, line] of out.split("\n").slice(0, wanted.length).entries()) {
      const [id = "", type] = line.split(" ");
      const revision = wanted[index];
      if (revision !== undefined && type === "commit" && isObjectId(id)) commits.set(revision, id);
    }
    return commits;
  }

  /** The tree a revision names (a commit's tree), or undefined when it names none. */
  async resolveTree(revision: string): Promise<string | undefined> {
    return await this.#resolve(`${revision}^{tree}`);
  }

  async #resolve(revision: string): Promise<string | undefined> {
    try {
      return (await this.run(["rev-parse", "--verify", "--quiet", "--end-of-options", revision])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** The best common ancestor of two commits, or undefined when they share no history (or one is no commit). */
  async mergeBase(a: string, b: string, signal?: AbortSignal): Promise<string | undefined> {
    return (await this.run(["merge-base", "--end-of-options", a, b], { signal }).catch(() => "")).trim() || undefined;
  }

  /** The branch checked out in the repository (`main`), or undefined on a detached HEAD. */
  async headBranch(signal?: AbortSignal): Promise<string | undefined> {
    return (await this.run(["symbolic-ref", "--quiet", "--short", "HEAD"], { signal }).catch(() => "")).trim() || undefined;
  }

  /** Whether the folder is inside a git repository at all. */
  async isRepository(signal?: AbortSignal): Promise<boolean> {
    return await this.run(["rev-parse", "--git-dir"], { signal }).then(
      () => true,
      () => false,
    );
  }

  /**
   * The entries of a tree (`commit`, a tree id, or `REV:folder`), read with `ls-tree -z`: only those under `paths`
   * when given, every file below when `recursive` (and every folder on the way too when `folders`), with blob sizes
   * when `sizes`. Throws when there is no such tree.
   */
  async treeEntries(
    treeish: string,
    options: { recursive?: boolean; folders?: boolean; paths?: readonly string[]; sizes?: boolean; signal?: AbortSignal } = {},
  ): Promise<TreeEntry[]> {
    const flags = [...(options.recursive ? ["-r"] : []), ...(options.recursive && options.folders ? ["-t"] : []), ...(options.sizes ? ["-l"] : [])];
    const paths = options.paths ? ["--", ...options.paths] : [];
    return parseTreeEntries(
      await this.run(["ls-tree", "-z", "--full-tree", ...flags, "--end-of-options", treeish, ...paths], { signal: options.signal }),
    );
  }

  /** One blob's content as text: an object id, or `REV:PATH`. Throws when it names no blob. */
  async readBlob(blob: string, signal?: AbortSignal): Promise<string> {
    return await this.run(["cat-file", "blob", "--end-of-options", blob], { signal });
  }

  /** The sizes of the blobs among `ids`, with one `cat-file --batch-check`; an id that names no blob has none. */
  async blobSizes(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    const wanted = [...new Set(ids)].filter(isObjectId);
    if (wanted.length === 0) return sizes;
    const out = await this.run(["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"], { stdin: `${wanted.join("\n")}\n`, signal });
    for (const [, id, size] of out.matchAll(/^(\S+) blob (\d+)$/gm)) if (id !== undefined && isObjectId(id)) sizes.set(id, Number(size));
    return sizes;
  }

  /** The files that differ between two commits (under `paths` when given), renames as a delete and an add. */
  async changes(from: string, to: string, options: { paths?: readonly string[]; signal?: AbortSignal } = {}): Promise<FileChange[]> {
    const paths = ["--", ...(options.paths ?? [])];
    return parseRawDiff(
      await this.run(["diff", "--raw", "-z", "--no-renames", "--no-abbrev", "--end-of-options", from, to, ...paths], { signal: options.signal }),
    );
  }

  /** The commits of `revision`'s history that touch `paths`, newest first, each with the paths it changed there. */
  async pathHistory(revision: string, paths: readonly string[], signal?: AbortSignal): Promise<{ commit: string; paths: string[] }[]> {
    const log = await this.run(["log", "--format=%x00%H", "--name-only", "-z", "--end-of-options", revision, "--", ...paths], { signal });
    // Each commit is `\0<id>\0`, then `\n` and its paths each ending with `\0`, then one more `\0`: an id follows an empty field.
    const history: { commit: string; paths: string[] }[] = [];
    let previous: string | undefined;
    for (const field of log.split("\0").map((text) => text.replace(/^\n/, ""))) {
      if (previous === "" && isObjectId(field)) history.push({ commit: field, paths: [] });
      else if (field !== "") history.at(-1)?.paths.push(field);
      previous = field;
    }
    return history;
  }

  /** The paths git tracks in the index (`ls-files`) below the folder this was made for, relative to it. */
  async trackedPaths(signal?: AbortSignal): Promise<string[]> {
    return (await this.run(["ls-files", "-z"], { signal })).split("\0").filter(Boolean);
  }

  /** The paths added by any commit reachable from a ref (the newest `commits` commits), once each. */
  async pathsInHistory(commits: number, signal?: AbortSignal): Promise<string[]> {
    const log = await this.run(["log", "--all", `--max-count=${commits}`, "--format=", "--name-only", "--diff-filter=A", "-z"], { signal });
    return [
      ...new Set(
        log
          .split("\0")
          .map((path) => path.replace(/^\n+/, ""))
          .filter(Boolean),
      ),
    ];
  }

  /** A commit's whole message. */
  async commitMessage(commit: string, signal?: AbortSignal): Promise<string> {
    return await this.run(["log", "-1", "--format=%B", "--end-of-options", commit], { signal });
  }

  /**
   * The whole messages of many commits, with one `git log --no-walk` rather than a process each: commit → message (as
   * `commitMessage` gives it, without its last newline); an object that is no commit is left out. Throws when one is no
   * object git has.
   */
  async commitMessages(commits: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const wanted = [...new Set(commits)];
    const bad = wanted.find((id) => !isObjectId(id));
    if (bad !== undefined) throw new GitCommandError(`git log failed: ${JSON.stringify(bad.slice(0, 80))} is no object id`);
    const messages = new Map<string, string>();
    if (wanted.length === 0) return messages;
    // A message holds no NUL (git refuses one): each commit is `<id>\0<message>\0`, the next after a newline.
    const fields = (await this.run(["log", "--no-walk=unsorted", "--format=%H%x00%B%x00", "--end-of-options", ...wanted], { signal })).split("\0");
    for (let index = 0; index + 1 < fields.length; index += 2) {
      const id = (fields[index] ?? "").replace(/^\n/, "");
      if (isObjectId(id)) messages.set(id, fields[index + 1] ?? "");
    }
    return messages;
  }

  /**
   * The `cand/<UTC second>` branches (names sorted, oldest first) with their commits, and as `strays` the other
   * names under `refs/heads/cand/` (org never hands those to git again).
   */
  async candidateRefs(signal?: AbortSignal): Promise<{ refs: CandidateRef[]; strays: string[] }> {
    const out = await this.run(
      ["for-each-ref", "--sort=refname", "--format=%(objectname) %(committerdate:iso-strict) %(refname)", CANDIDATE_REFS_PREFIX],
      {
        signal,
      },
    );
    const candidates: PromotionRefs["candidates"] = { refs: [], strays: [] };
    for (const line of out.split("\n").filter(Boolean)) {
      const [commit = "", committedAt = "", ...rest] = line.split(" ");
      addCandidateRef(candidates, rest.join(" "), commit, committedAt);
    }
    return candidates;
  }

  /** The local branches that name `commit` (short names). */
  async branchesAt(commit: string, signal?: AbortSignal): Promise<string[]> {
    const out = await this.run(["for-each-ref", "--format=%(refname:short)", "--points-at", commit, "refs/heads/"], { signal });
    return out.split("\n").filter(Boolean);
  }

  /** The `promote/…` or `rollback/…` tags, names sorted (oldest first), each with its commit and that commit's message. */
  async promotionTags(kind: PromotionTagKind, signal?: AbortSignal): Promise<PromotionTag[]> {
    // A commit message holds no NUL (git refuses one), so NULs part the fields; each record ends with NUL and a newline.
    const out = await this.run(
      [
        "for-each-ref",
        "--sort=refname",
        "--format=%(refname:strip=2)%00%(if)%(*objectname)%(then)%(*objectname)%(else)%(objectname)%(end)%00%(contents)%00",
        `refs/tags/${kind}/`,
      ],
      {
        signal,
      },
    );
    const fields = out.split("\0");
    const tags: PromotionTag[] = [];
    for (let index = 0; index + 2 < fields.length; index += 3) {
      const name = (fields[index] ?? "").replace(/^\n/, "");
      if (isPromotionTag(kind, name, fields[index + 1] ?? "")) tags.push({ name, commit: fields[index + 1] ?? "", message: fields[index + 2] ?? "" });
    }
    return tags;
  }

  /**
   * What a candidate's state is judged from, read together with one `for-each-ref` rather than four: main's commit
   * (as `resolveCommit("refs/heads/main")`), the candidate branches (as `candidateRefs`) and both kinds of promotion
   * tag (as `promotionTags`).
   */
  async promotionRefs(signal?: AbortSignal): Promise<PromotionRefs> {
    // Each ref is 6 fields, each ending with NUL (a message holds none), the ref with a newline after them.
    const format = [
      "%(refname)",
      "%(objectname)",
      "%(objecttype)",
      "%(if)%(*objectname)%(then)%(*objectname)%(else)%(objectname)%(end)",
      "%(committerdate:iso-strict)",
      "%(contents)",
      "",
    ].join("%00");
    const prefixes = ["refs/heads/main", CANDIDATE_REFS_PREFIX, "refs/tags/promote/", "refs/tags/rollback/"];
    const out = await this.run(["for-each-ref", "--sort=refname", `--format=${format}`, ...prefixes], { signal });
    const refs: PromotionRefs = { main: undefined, candidates: { refs: [], strays: [] }, promote: [], rollback: [] };
    const fields = out.split("\0");
    for (let index = 0; index + 5 < fields.length; index += 6) {
      const [name = "", id = "", type = "", peeled = "", committedAt = "", message = ""] = fields.slice(index, index + 6);
      const ref = name.replace(/^\n/, "");
      if (ref === "refs/heads/main") {
        // A main that names a tag or no commit is resolved as resolveCommit would, peeled or refused.
        refs.main = type === "commit" && isObjectId(id) ? id : await this.resolveCommit("refs/heads/main");
      } else if (ref.startsWith(CANDIDATE_REFS_PREFIX)) addCandidateRef(refs.candidates, ref, id, committedAt);
      else
        for (const kind of ["promote", "rollback"] as const) {
          const tag = ref.replace(/^refs\/tags\//, "");
          if (ref.startsWith("refs/tags/") && isPromotionTag(kind, tag, peeled)) refs[kind].push({ name: tag, commit: peeled, message });
        }
    }
    return refs;
  }

  /**
   * A commit of `tree` with `parents` and `message` (a final newline added when it lacks one, as `-m` does); no ref
   * moves. Returns the commit's id.
   */
  async commitTree(tree: string, options: { parents: readonly string[]; message: string; signal?: AbortSignal }): Promise<string> {
    const message = options.message.endsWith("\n") ? options.message : `${options.message}\n`;
    const parents = options.parents.flatMap((parent) => ["-p", parent]);
    return (await this.run(["commit-tree", ...parents, "-F", "-", "--end-of-options", tree], { stdin: message, signal: options.signal })).trim();
  }

  /** `git merge-tree --write-tree` of two commits (against `mergeBase` when given): the tree, or the conflicts. No ref, index or file moves. */
  async mergeTree(ours: string, theirs: string, options: { mergeBase?: string; signal?: AbortSignal } = {}): Promise<MergedTree> {
    const base = options.mergeBase ? [`--merge-base=${options.mergeBase}`] : [];
    let out: string;
    try {
      out = await this.run(["merge-tree", "--write-tree", ...base, "--end-of-options", ours, theirs], { signal: options.signal });
    } catch (error) {
      return { conflicts: [error instanceof Error ? error.message : String(error)] };
    }
    const [tree = "", ...rest] = out.split("\n").filter(Boolean);
    return rest.length === 0 && isObjectId(tree) ? { tree } : { conflicts: rest };
  }

  /** Every worktree of the repository, the main one first. */
  async worktrees(signal?: AbortSignal): Promise<Worktree[]> {
    return parseWorktreeList(await this.run(["worktree", "list", "--porcelain", "-z"], { signal }));
  }

  /**
   * A new worktree at `path` with `revision` checked out detached (a branch named stays free to move), locked with
   * `lockReason` from the moment it exists when one is given. `--force` takes over a path a vanished worktree held.
   */
  async addWorktree(path: string, revision: string, options: { lockReason?: string; signal?: AbortSignal } = {}): Promise<void> {
    const lock = options.lockReason !== undefined ? ["--lock", "--reason", options.lockReason] : [];
    await this.run(["worktree", "add", "--detach", "--force", "--quiet", ...lock, "--", path, revision], { signal: options.signal });
  }

  /**
   * Removes the worktree at `path`, locked or not, changes and all. When git cannot (its registration is gone or
   * broken), a folder under `.org/worktrees/` is deleted by hand and the registrations pruned; never one elsewhere.
   */
  async removeWorktree(path: string, signal?: AbortSignal): Promise<void> {
    await this.run(["worktree", "unlock", "--", path], { signal }).catch(() => {});
    try {
      await this.run(["worktree", "remove", "--force", "--", path], { signal });
    } catch {
      const inside = relative(join(this.repoDir, WORKTREES_DIR), path);
      const ours = inside !== "" && !inside.startsWith("..") && !inside.startsWith("/");
      if (ours && lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) rmSync(path, { recursive: true, force: true });
      await this.pruneWorktrees(signal);
    }
  }

  /** Forgets the worktrees whose folders are gone; a failure is left unsaid (the next prune tries again). */
  async pruneWorktrees(signal?: AbortSignal): Promise<void> {
    await this.run(["worktree", "prune"], { signal }).catch(() => {});
  }

  /**
   * Writes every ref of the repository (branches, tags, notes, and any other under refs/), and HEAD, with all their
   * history to the bundle `file` (a new file; an absolute path), and returns what it carries. Throws when the repository
   * has no commit.
   */
  async createBundle(file: string, signal?: AbortSignal): Promise<BundleHead[]> {
    // Every ref under refs/ and HEAD: `--all` would add the linked worktrees' HEADs (`worktrees/<name>/HEAD`) as refs.
    await this.run(["bundle", "create", "--quiet", "--", absoluteFile(file), "--glob=refs/*", "HEAD"], { signal });
    return await this.bundleHeads(file, signal);
  }

  /**
   * Whether `file` is a whole bundle this repository could take: its header and prerequisites (`bundle verify`), and
   * every object of its pack read and its checksum checked (`index-pack` of the pack, in a folder of its own: `bundle
   * verify` alone passes a cut or altered pack). `problem` is git's word when not.
   */
  async verifyBundle(file: string, signal?: AbortSignal): Promise<{ ok: true } | { ok: false; problem: string }> {
    const scratch = ownedTempDir("bundle-check");
    try {
      await this.run(["bundle", "verify", "--quiet", "--", absoluteFile(file)], { signal });
      const pack = join(scratch, "bundle.pack");
      // Streamed: Bun.write of a sliced Bun.file copies the whole file (bun 1.4). Node's streams load here only: they
      // cost every command that opens a repository about 10 ms of CPU to load.
      const [{ pipeline }, { createReadStream, createWriteStream }] = await Promise.all([import("node:stream/promises"), import("node:fs")]);
      await pipeline(createReadStream(file, { start: bundlePackOffset(file) }), createWriteStream(pack, { flags: "wx" }), { signal });
      await this.run(["index-pack", "-o", join(scratch, "bundle.idx"), pack], { signal });
      return { ok: true };
    } catch (error) {
      return { ok: false, problem: error instanceof Error ? error.message : String(error) };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** The refs a bundle carries, with their commits. */
  async bundleHeads(file: string, signal?: AbortSignal): Promise<BundleHead[]> {
    const out = await this.run(["bundle", "list-heads", "--", absoluteFile(file)], { signal });
    return out.split("\n").flatMap((line) => {
      const [commit = "", ref = ""] = line.split(" ", 2);
      return isObjectId(commit) && ref !== "" ? [{ ref, commit }] : [];
    });
  }
}

/** main's commit, the candidate branches and the promotion tags, as `promotionRefs` reads them together. */
export type PromotionRefs = {
  main: string | undefined;
  candidates: { refs: CandidateRef[]; strays: string[] };
  promote: PromotionTag[];
  rollback: PromotionTag[];
};

/** Adds the ref `refname` under `refs/heads/cand/` to the candidates, or to the strays when its name or commit is not one. */
function addCandidateRef(candidates: { refs: CandidateRef[]; strays: string[] }, refname: string, commit: string, committedAt: string): void {
  const branch = refname.replace(/^refs\/heads\//, "");
  if (CANDIDATE_BRANCH_PATTERN.test(branch) && isObjectId(commit)) candidates.refs.push({ branch, commit, committedAt });
  else candidates.strays.push(branch);
}

/** Whether `name` (below refs/tags/) is a `kind` tag of org's and `commit` an object id. */
function isPromotionTag(kind: PromotionTagKind, name: string, commit: string): boolean {
  return PROMOTION_TAG_PATTERN.test(name) && name.startsWith(`${kind}/`) && isObjectId(commit);
}

// A bundle file named by a relative path would be read against the repository, whatever the caller's folder.
function absoluteFile(file: string): string {
  if (!file.startsWith("/"))
    throw new GitCommandError(`git bundle failed: ${JSON.stringify(file)} is no absolute path; give the bundle's whole path`);
  return file;
}
