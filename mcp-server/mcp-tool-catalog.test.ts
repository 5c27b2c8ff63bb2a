import { expect, test } from "bun:test";
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LINES_WORKFLOW } from "../testing/mcp-fixtures.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { workflowFiles } from "../workflows/workflow-files.ts";
import { workflowEntries } from "./mcp-tool-catalog.ts";

test("workflows are served only from a real workflows/ folder: a link there (or one made since the listing) serves nothing", async () => {
  using repo = tempGitRepo("org-mcp-catalog-");
  writeGeneratedTool(repo.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
  mkdirSync(join(repo.dir, "workflows"));
  writeFileSync(join(repo.dir, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
  const listed = workflowEntries(repo.dir, [repo.dir], testSandboxAccess());
  expect(listed.map((entry) => entry.name)).toEqual(["count-all"]);

  // The folder swapped for a link to another with the same file: what was listed no longer runs.
  renameSync(join(repo.dir, "workflows"), join(repo.dir, "wf"));
  symlinkSync("wf", join(repo.dir, "workflows"));
  expect(await listed[0]?.run({ text: "a b" })).toEqual({
    ok: false,
    error: "workflows is a symbolic link; org reads workflows/ only through real folders, so nothing under it is used",
  });
  // The one reader of a workflows/ folder (the planner's saved workflows read through it too) lists none.
  expect(workflowFiles(repo.dir)).toEqual([]);
  const skipped: string[] = [];
  expect(workflowEntries(repo.dir, [repo.dir], testSandboxAccess(), (name, problem) => skipped.push(`${name}: ${problem}`))).toEqual([]);
  expect(skipped).toEqual(["workflows: workflows is a symbolic link; org reads workflows/ only through real folders, so nothing under it is used"]);
});
