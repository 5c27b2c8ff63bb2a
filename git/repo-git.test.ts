import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkoutState, gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { isObjectId } from "./ref-names.ts";
import { GitCommandError } from "./git-command-error.ts";
import { RepoGit } from "./repo-git.ts";

test("readBlobs: many blobs with one git process, byte for byte (multibyte, binary, empty, a newline-only one)", async () => {
  using repo = tempGitRepo("org-read-blobs-");
  const contents = [
    Buffer.from("export default (t: string) => t.length;\n"),
    Buffer.from("héllo wörld ✓ 🙂\n"),
    Buffer.from([0, 255, 10, 13, 0xc3]),
    Buffer.alloc(0),
    Buffer.from("\n"),
  ];
  const ids = contents.map((content, index) => {
    const file = join(repo.dir, `f${index}`);
    writeFileSync(file, content);
    return gitSync(repo.dir, ["hash-object", "-w", file]).trim();
  });
  const git = new RepoGit(repo.dir);
  // Asked twice for one: read once.
  const blobs = await git.readBlobs([...ids, ids[0] as string]);
  expect(blobs.size).toBe(contents.length);
  for (const [index, content] of contents.entries()) expect(Buffer.compare(blobs.get(ids[index] as string) ?? Buffer.from("x"), content)).toBe(0);
  expect((await git.readBlobs([])).size).toBe(0);
});

test("readBlobs: an id that is none, a blob git lacks or an object that is no blob throws, naming it", async () => {
  using repo = tempGitRepo("org-read-blobs-bad-");
  const git = new RepoGit(repo.dir);
  await expect(git.readBlobs(["HEAD"])).rejects.toBeInstanceOf(GitCommandError);
  await expect(git.readBlobs(["--batch-all-objects"])).rejects.toThrow("is no object id");
  await expect(git.readBlobs(["0".repeat(40)])).rejects.toThrow(`${"0".repeat(40)} is no blob git has`);
  const tree = gitSync(repo.dir, ["rev-parse", "HEAD^{tree}"]).trim();
  await expect(git.readBlobs([tree])).rejects.toThrow(`${tree} is no blob git has`);
});

/** A repository whose main holds `files` (path → content) in a second commit. */
function repoWith(files: Record<string, string>, prefix: string): { dir: string; git: RepoGit } & Disposable {
  const repo = tempGitRepo(prefix);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(repo.dir, dirname(path)), { recursive: true });
    writeFileSync(join(repo.dir, path), content);
  }
  gitSync(repo.dir, ["add", "-A"]);
  gitSync(repo.dir, ["commit", "--quiet", "--allow-empty", "-m", "files"]);
  return { dir: repo.dir, git: new RepoGit(repo.dir), [Symbol.dispose]: () => repo[Symbol.dispose]() };
}

test("treeEntries: one level, a folder, every file with sizes, names with tabs and newlines kept whole", async () => {
  using repo = repoWith({ "tools/generated/a_b/tool.ts": "12345", "tools/generated/a_b/odd\tna\nme": "x", "top.txt": "" }, "org-tree-entries-");
  const { git } = repo;
  const root = await git.treeEntries("HEAD");
  expect(root.map((entry) => [entry.path, entry.type, entry.mode])).toEqual([
    ["README.md", "blob", "100644"],
    ["tools", "tree", "040000"],
    ["top.txt", "blob", "100644"],
  ]);
  const all = await git.treeEntries("HEAD", { recursive: true, sizes: true, paths: ["tools/generated/"] });
  expect(all.map((entry) => [entry.path, entry.size])).toEqual([
    ["tools/generated/a_b/odd\tna\nme", 1],
    ["tools/generated/a_b/tool.ts", 5],
  ]);
  expect(all.every((entry) => isObjectId(entry.id))).toBe(true);
  const [folder] = await git.treeEntries("HEAD", { paths: ["tools/generated/a_b"] });
  expect(folder).toMatchObject({ path: "tools/generated/a_b", type: "tree" });
  expect((await git.treeEntries("HEAD:tools/generated")).map((entry) => entry.path)).toEqual(["a_b"]);
  // Sizes asked for: a folder has none.
  expect((await git.treeEntries("HEAD", { sizes: true })).find((entry) => entry.path === "tools")?.size).toBeUndefined();
  await expect(git.treeEntries("HEAD:no/such/folder")).rejects.toBeInstanceOf(GitCommandError);
  await expect(git.treeEntries("--output=/tmp/x")).rejects.toBeInstanceOf(GitCommandError);
});

test("readBlob and blobSizes: a file by id or by REV:PATH; what names no blob has no size", async () => {
  using repo = repoWith({ "a.txt": "héllo\n" }, "org-read-blob-");
  const { git } = repo;
  const [entry] = await git.treeEntries("HEAD", { paths: ["a.txt"] });
  expect(await git.readBlob("HEAD:a.txt")).toBe("héllo\n");
  expect(await git.readBlob(entry?.id ?? "")).toBe("héllo\n");
  await expect(git.readBlob("HEAD:missing.txt")).rejects.toBeInstanceOf(GitCommandError);
  const tree = (await git.resolveTree("HEAD")) ?? "";
  const id = entry?.id ?? "";
  const sizes = await git.blobSizes([id, tree, "0".repeat(40), "HEAD"]);
  expect([...sizes]).toEqual([[id, Buffer.byteLength("héllo\n")]]);
});

test("resolveCommit, resolveTree, mergeBase, headBranch, isRepository, commitMessage", async () => {
  using repo = repoWith({ "b.txt": "b" }, "org-resolve-");
  const { git, dir } = repo;
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const first = gitSync(dir, ["rev-parse", "HEAD^"]).trim();
  expect(await git.resolveCommit("main")).toBe(head);
  expect(await git.resolveTree("main")).toBe(gitSync(dir, ["rev-parse", "HEAD^{tree}"]).trim());
  expect(await git.resolveCommit("nope")).toBeUndefined();
  expect(await git.resolveTree("--all")).toBeUndefined();
  expect(await git.mergeBase(head, first)).toBe(first);
  const orphan = gitSync(dir, ["commit-tree", "-m", "alone", gitSync(dir, ["rev-parse", "HEAD^{tree}"]).trim()]).trim();
  expect(await git.mergeBase(head, orphan)).toBeUndefined();
  expect(await git.headBranch()).toBe("main");
  gitSync(dir, ["checkout", "--quiet", "--detach", "HEAD"]);
  expect(await git.headBranch()).toBeUndefined();
  expect(await git.isRepository()).toBe(true);
  expect(await git.commitMessage(head)).toBe("files\n\n");
  const outside = mkdtempSync(join(tmpdir(), "org-no-repo-"));
  try {
    expect(await new RepoGit(outside).isRepository()).toBe(false);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test("resolveCommits and commitMessages: many at once, each as the one-at-a-time call answers it; what names none is left out", async () => {
  using repo = repoWith({ "b.txt": "b" }, "org-resolve-many-");
  const { git, dir } = repo;
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const first = gitSync(dir, ["rev-parse", "HEAD^"]).trim();
  gitSync(dir, ["tag", "-a", "-m", "annotated", "t1", first]);
  gitSync(dir, ["commit", "--quiet", "--allow-empty", "-m", "third\n\nwith a body: ünïcode\n\nTrailer: x"]);
  const third = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const blob = gitSync(dir, ["rev-parse", "HEAD:b.txt"]).trim();
  const asked = ["main", "t1", `${third}^1`, `${third}^2`, "nope", blob, "main\nHEAD", " main", "--all", "", "HEAD", "main"];
  const commits = await git.resolveCommits(asked);
  expect(Object.fromEntries(commits)).toEqual({ main: third, t1: first, [`${third}^1`]: head, HEAD: third });
  for (const revision of asked)
    expect(commits.get(revision)).toBe(revision.includes("\n") || revision === " main" ? undefined : await git.resolveCommit(revision));
  expect((await git.resolveCommits([])).size).toBe(0);

  const messages = await git.commitMessages([third, first, head, third]);
  expect([...messages.keys()]).toEqual([third, first, head]);
  for (const commit of [third, first, head]) expect(`${messages.get(commit)}\n`).toBe(await git.commitMessage(commit));
  expect(messages.get(third)).toBe("third\n\nwith a body: ünïcode\n\nTrailer: x\n");
  await expect(git.commitMessages(["--all"])).rejects.toThrow("is no object id");
  expect(await git.commitMessages([blob, head])).toEqual(new Map([[head, messages.get(head) ?? ""]]));
  await expect(git.commitMessages(["0".repeat(40)])).rejects.toBeInstanceOf(GitCommandError);
});

test("changes and pathHistory: what a diff touches (modes, ids, status) and which commits touched a folder", async () => {
  using repo = repoWith({ "tools/generated/x_y/tool.ts": "1", "other.txt": "o" }, "org-changes-");
  const { git, dir } = repo;
  const before = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  writeFileSync(join(dir, "tools/generated/x_y/tool.ts"), "2");
  writeFileSync(join(dir, "run.sh"), "#!/bin/sh\n");
  chmodSync(join(dir, "run.sh"), 0o755);
  rmSync(join(dir, "other.txt"));
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "change"]);
  const after = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const changes = await git.changes(before, after);
  expect(changes.map((change) => [change.path, change.status, change.newMode])).toEqual([
    ["other.txt", "D", "000000"],
    ["run.sh", "A", "100755"],
    ["tools/generated/x_y/tool.ts", "M", "100644"],
  ]);
  expect(changes.every((change) => isObjectId(change.newId) && isObjectId(change.oldId))).toBe(true);
  expect((await git.changes(before, after, { paths: ["tools/generated/"] })).map((change) => change.path)).toEqual(["tools/generated/x_y/tool.ts"]);
  expect(await git.pathHistory("HEAD", ["tools/generated/"])).toEqual([
    { commit: after, paths: ["tools/generated/x_y/tool.ts"] },
    { commit: before, paths: ["tools/generated/x_y/tool.ts"] },
  ]);
});

test("candidateRefs: cand/<UTC second> branches in name order with commit and date; other names under cand/ are strays", async () => {
  using repo = repoWith({}, "org-candidate-refs-");
  const { git, dir } = repo;
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  for (const name of ["cand/20261123T101501Z", "cand/20261123T101500Z", "cand/not-a-stamp", "candy"]) gitSync(dir, ["branch", name]);
  const { refs, strays } = await git.candidateRefs();
  expect(refs.map((ref) => [ref.branch, ref.commit])).toEqual([
    ["cand/20261123T101500Z", head],
    ["cand/20261123T101501Z", head],
  ]);
  expect(Number.isNaN(Date.parse(refs[0]?.committedAt ?? ""))).toBe(false);
  expect(strays).toEqual(["cand/not-a-stamp"]);
  expect((await git.branchesAt(head)).sort()).toEqual(["cand/20261123T101500Z", "cand/20261123T101501Z", "cand/not-a-stamp", "candy", "main"]);
});

test("promotionTags: each kind's tags in name order with the commit (peeled) and its message; other tags left out", async () => {
  using repo = repoWith({}, "org-promotion-tags-");
  const { git, dir } = repo;
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const revert = gitSync(dir, ["commit-tree", "-p", head, "-m", "revert: x\n\nRolls-Back: promote/20261123T101500Z", `${head}^{tree}`]).trim();
  gitSync(dir, ["tag", "promote/20261123T101501Z", head]);
  gitSync(dir, ["tag", "-a", "-m", "annotated", "promote/20261123T101500Z", head]);
  gitSync(dir, ["tag", "rollback/20261123T101502Z", revert]);
  gitSync(dir, ["tag", "promote/hand-made", head]);
  expect((await git.promotionTags("promote")).map((tag) => [tag.name, tag.commit])).toEqual([
    ["promote/20261123T101500Z", head],
    ["promote/20261123T101501Z", head],
  ]);
  const [rollback, ...more] = await git.promotionTags("rollback");
  expect(more).toEqual([]);
  expect(rollback).toEqual({ name: "rollback/20261123T101502Z", commit: revert, message: "revert: x\n\nRolls-Back: promote/20261123T101500Z\n" });
});

test("promotionRefs: main, the candidates and both kinds of tag in one read, each as its own call reads it", async () => {
  using repo = repoWith({}, "org-promotion-refs-");
  const { git, dir } = repo;
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const revert = gitSync(dir, ["commit-tree", "-p", head, "-m", "revert: x\n\nRolls-Back: promote/20261123T101500Z", `${head}^{tree}`]).trim();
  for (const name of ["cand/20261123T101501Z", "cand/20261123T101500Z", "cand/not-a-stamp", "candy", "mainly"]) gitSync(dir, ["branch", name]);
  gitSync(dir, ["update-ref", "refs/heads/cand/20261123T101502Z", revert]);
  gitSync(dir, ["tag", "promote/20261123T101501Z", head]);
  gitSync(dir, ["tag", "-a", "-m", "annotated ünïcode", "promote/20261123T101500Z", head]);
  gitSync(dir, ["tag", "rollback/20261123T101502Z", revert]);
  gitSync(dir, ["tag", "promote/hand-made", head]);
  gitSync(dir, ["tag", "-a", "-m", "other", "release/1", head]);
  const oneByOne = async () => ({
    main: await git.resolveCommit("refs/heads/main"),
    candidates: await git.candidateRefs(),
    promote: await git.promotionTags("promote"),
    rollback: await git.promotionTags("rollback"),
  });
  const together = await git.promotionRefs();
  expect(together).toEqual(await oneByOne());
  expect(together.main).toBe(head);
  expect(together.candidates.refs.map((ref) => ref.branch)).toEqual(["cand/20261123T101500Z", "cand/20261123T101501Z", "cand/20261123T101502Z"]);
  expect(together.rollback.map((tag) => tag.message)).toEqual(["revert: x\n\nRolls-Back: promote/20261123T101500Z\n"]);
  // main naming a tag (git refuses to write one, a hand-edited ref file does not) is peeled to its commit; no main is none.
  writeFileSync(join(dir, ".git", "refs", "heads", "main"), gitSync(dir, ["rev-parse", "release/1"]));
  expect((await git.promotionRefs()).main).toBe(head);
  gitSync(dir, ["checkout", "--quiet", "--detach", "HEAD"]);
  gitSync(dir, ["update-ref", "-d", "refs/heads/main"]);
  expect(await git.promotionRefs()).toEqual({ ...(await oneByOne()), main: undefined });
});

test("commitTree and mergeTree: commits from trees with no ref moved; a conflict is named, never a tree", async () => {
  using repo = repoWith({ "c.txt": "base\n" }, "org-commit-tree-");
  const { git, dir } = repo;
  const before = checkoutState(dir);
  const base = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const treeWith = (content: string) => {
    const blob = gitSync(dir, ["hash-object", "-w", "--stdin"], content).trim();
    return gitSync(dir, ["mktree"], `100644 blob ${blob}\tc.txt\n`).trim();
  };
  const ours = await git.commitTree(treeWith("ours\n"), { parents: [base], message: "ours" });
  const theirs = await git.commitTree(treeWith("theirs\n"), { parents: [base], message: "theirs\n\nwith a body" });
  expect(gitSync(dir, ["log", "-1", "--format=%B", ours])).toBe("ours\n\n");
  expect(gitSync(dir, ["rev-parse", `${theirs}^`]).trim()).toBe(base);
  const conflict = await git.mergeTree(ours, theirs);
  expect("conflicts" in conflict && conflict.conflicts.join("\n")).toContain("c.txt");
  const clean = await git.mergeTree(base, ours);
  expect(clean).toEqual({ tree: gitSync(dir, ["rev-parse", `${ours}^{tree}`]).trim() });
  const merge = await git.commitTree("tree" in clean ? clean.tree : "", { parents: [base, ours], message: "merge" });
  expect(gitSync(dir, ["rev-list", "--parents", "-1", merge]).trim().split(" ")).toEqual([merge, base, ours]);
  expect(checkoutState(dir)).toBe(before);
});

test("worktrees: added detached and locked at once, listed, removed locked or not; a folder git lost is removed only under .org/worktrees", async () => {
  using repo = repoWith({}, "org-worktrees-");
  const { git, dir } = repo;
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  const root = join(git.repoDir, ".org", "worktrees");
  mkdirSync(root, { recursive: true });
  const locked = join(root, "fitness-1");
  await git.addWorktree(locked, head, { lockReason: "org fitness pid 1\nsecond line" });
  await git.addWorktree(join(root, "cand"), "main");
  const listed = await git.worktrees();
  expect(listed.map((worktree) => [worktree.path, worktree.head, worktree.branch, worktree.locked])).toEqual([
    [git.repoDir, head, "refs/heads/main", undefined],
    [join(root, "cand"), head, undefined, undefined],
    [locked, head, undefined, "org fitness pid 1\nsecond line"],
  ]);
  await git.removeWorktree(locked);
  expect(existsSync(locked)).toBe(false);
  // git forgot this one: its folder is still removed, being org's own.
  gitSync(dir, ["worktree", "remove", "--force", join(root, "cand")]);
  mkdirSync(join(root, "cand"));
  writeFileSync(join(root, "cand", "left.txt"), "x");
  await git.removeWorktree(join(root, "cand"));
  expect(existsSync(join(root, "cand"))).toBe(false);
  // Outside .org/worktrees a folder git does not know is never deleted.
  const elsewhere = mkdtempSync(join(tmpdir(), "org-not-a-worktree-"));
  try {
    await git.removeWorktree(elsewhere);
    expect(existsSync(elsewhere)).toBe(true);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
  expect((await git.worktrees()).map((worktree) => worktree.path)).toEqual([git.repoDir]);
});

test("bundles: every branch and tag with HEAD, verified and listed; a cut or altered file fails verify; a relative path is refused", async () => {
  using repo = repoWith({ "d.txt": "d" }, "org-bundle-");
  const { git, dir } = repo;
  const head = gitSync(dir, ["rev-parse", "HEAD"]).trim();
  gitSync(dir, ["branch", "cand/20261123T101500Z", "HEAD^"]);
  gitSync(dir, ["tag", "promote/20261123T101500Z", head]);
  gitSync(dir, ["worktree", "add", "--quiet", "--detach", join(dir, ".org-wt"), "HEAD^"]);
  const out = mkdtempSync(join(tmpdir(), "org-bundle-out-"));
  try {
    const file = join(out, "org.bundle");
    const heads = await git.createBundle(file);
    expect(heads.map((entry) => entry.ref).sort()).toEqual([
      "HEAD",
      "refs/heads/cand/20261123T101500Z",
      "refs/heads/main",
      "refs/tags/promote/20261123T101500Z",
    ]);
    expect(heads.find((entry) => entry.ref === "refs/heads/main")?.commit).toBe(head);
    expect(await git.bundleHeads(file)).toEqual(heads);
    expect(await git.verifyBundle(file)).toEqual({ ok: true });
    // A clone of it has the same refs.
    gitSync(out, ["clone", "--quiet", "--mirror", file, join(out, "restored")]);
    expect(gitSync(join(out, "restored"), ["for-each-ref", "--format=%(refname) %(objectname)"])).toBe(
      gitSync(dir, ["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/", "refs/tags/"]),
    );
    const bytes = readFileSync(file);
    writeFileSync(join(out, "cut.bundle"), bytes.subarray(0, bytes.length - 20));
    const cut = await git.verifyBundle(join(out, "cut.bundle"));
    expect(cut.ok === false && cut.problem).toContain("early EOF");
    const altered = Buffer.from(bytes);
    altered[altered.length - 40] = (altered[altered.length - 40] ?? 0) ^ 0xff;
    writeFileSync(join(out, "altered.bundle"), altered);
    expect((await git.verifyBundle(join(out, "altered.bundle"))).ok).toBe(false);
    writeFileSync(join(out, "not.bundle"), "no bundle\n");
    expect((await git.verifyBundle(join(out, "not.bundle"))).ok).toBe(false);
    await expect(git.createBundle("relative.bundle")).rejects.toThrow("is no absolute path");
    await expect(git.bundleHeads("--all")).rejects.toThrow("is no absolute path");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
