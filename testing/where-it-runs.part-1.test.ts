// No test may depend on where it runs (testing/where-it-runs.ts): part 1 of the checkout-sensitive files, in a clone
// under a 0700 folder at a detached HEAD, grown as a user's, a hostile git config and org npm-linked on PATH.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expectPartPasses, WHERE_IT_RUNS_PARTS, whereItRunsShares } from "./where-it-runs.ts";
import { WHERE_IT_RUNS_FILES, whereItRunsFilesText, writtenWhereItRunsFiles } from "./where-it-runs-files.ts";

test("the parts together run every checkout-sensitive file exactly once", () => {
  const shares = whereItRunsShares(join(import.meta.dir, ".."));
  expect(shares).toHaveLength(WHERE_IT_RUNS_PARTS);
  const all = shares.flat();
  expect(new Set(all).size).toBe(all.length);
  expect(all).toContain("cli/chat/demo-command.test.ts");
  expect(all).toContain("security/private-state.test.ts");
  for (const share of shares) expect(share.length).toBeGreaterThan(0);
});

test(`npm test leaves out exactly the files the parts run (${WHERE_IT_RUNS_FILES}), so none runs twice and none is lost`, () => {
  const root = join(import.meta.dir, "..");
  const written = writtenWhereItRunsFiles(root);
  // A file listed but no longer checkout-sensitive would run nowhere; one sensitive but unlisted would run twice.
  if (written !== whereItRunsFilesText(root)) {
    throw new Error(
      `${WHERE_IT_RUNS_FILES} does not list the checkout-sensitive files as they are now: run \`npm run test:where-files\` and commit it`,
    );
  }
  const listed = written.trim().split("\n");
  expect(whereItRunsShares(root).flat().sort()).toEqual(listed);
  // bun passes over a named file that is not there: a renamed one would run nowhere in a hostile clone.
  expect(listed.filter((file) => !existsSync(join(root, file)))).toEqual([]);
});

test("the checkout-sensitive tests (part 1) pass in a clone under a 0700 folder at a detached HEAD, grown as a user's, a hostile git config and org npm-linked on PATH", async () => {
  await expectPartPasses(1);
}, 960_000);
