import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { gitApplyCheck } from "./git-apply-check.ts";

const patchOf = (old: string) => Buffer.from(`diff --git a/f.txt b/f.txt\n--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-${old}\n+b\n`);

test("a patch is checked from the repository's root, also when that is a folder inside a larger git repository", async () => {
  using outer = tempGitRepo("org-apply-check-");
  const project = join(outer.dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "f.txt"), "a\n");
  gitSync(outer.dir, ["add", "-A"]);
  gitSync(outer.dir, ["commit", "--quiet", "-m", "project"]);
  expect(await gitApplyCheck(project, patchOf("a"))).toBeUndefined();
  // From the folder, git would take f.txt as the outer repository's and skip it as outside: a patch that does not apply passed.
  expect(await gitApplyCheck(project, patchOf("not the content"))).toContain("patch does not apply");
  expect(await gitApplyCheck(outer.dir, patchOf("a"))).toContain("No such file");
});
