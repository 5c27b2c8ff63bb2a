import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { candidateRefNames } from "../git/candidate-ref-names.ts";
import { RepoGit } from "../git/repo-git.ts";
import { makeCandidate, promotionRepo, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { promotedTools } from "./catalog-entry.ts";
import { candidateTools } from "./tool-catalog.ts";
import { listGeneratedTools } from "./tool-listing.ts";
import { liveCandidateToolNames } from "../fitness/candidate-states.ts";

describe("the listing of generated tools (throw-away repos)", () => {
  test("a checkout with no tool folder and no cand/* branch lists nothing", async () => {
    using repo = tempGitRepo();
    expect(await candidateRefNames(repo.dir)).toEqual([]);
    expect(await listGeneratedTools(repo.dir, liveCandidateToolNames)).toEqual([]);
  });

  test("promoted tools and a candidate are listed exactly as the catalogue reads them", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    expect(await listGeneratedTools(repo.dir, liveCandidateToolNames)).toEqual(promotedTools(repo.dir));
    makeCandidate(repo.dir, "cand/20261123T101500Z", (worktree) => writeFixtureTool(worktree, CLAMP));
    expect(await candidateRefNames(repo.dir)).toEqual(["refs/heads/cand/20261123T101500Z"]);
    const listed = await listGeneratedTools(repo.dir, liveCandidateToolNames);
    expect(listed.map((entry) => [entry.name, entry.status])).toEqual([
      [String(WORD_COUNT.spec.name), "promoted"],
      [String(CLAMP.spec.name), "candidate"],
    ]);
    expect(listed).toEqual([...promotedTools(repo.dir), ...(await candidateTools(new RepoGit(repo.dir), liveCandidateToolNames))]);
  }, 60_000);

  test("where git cannot list branches, the catalogue's own reader runs and reports git's error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "org-not-a-repo-"));
    try {
      expect(await candidateRefNames(dir)).toBeUndefined();
      await expect(listGeneratedTools(dir, liveCandidateToolNames)).rejects.toThrow(/git for-each-ref failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
