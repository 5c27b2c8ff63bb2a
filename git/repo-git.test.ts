import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { GitCommandError, RepoGit } from "./repo-git.ts";

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
