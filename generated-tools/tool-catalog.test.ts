import { describe, expect, test } from "bun:test";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { RepoGit } from "../git/repo-git.ts";
import { makeCandidate, promotionRepo, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { takenToolNames } from "./tool-catalog.ts";
import { liveCandidateToolNames } from "../fitness/candidate-states.ts";

describe("the names a new generated tool may not take", () => {
  test("every reserved name, main's tools and the live candidates' tools", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    makeCandidate(repo.dir, "cand/20261123T101500Z", (worktree) => writeFixtureTool(worktree, CLAMP));
    const taken = await takenToolNames(new RepoGit(repo.dir), liveCandidateToolNames);
    expect([...taken].sort()).toEqual([...RESERVED_TOOL_NAMES, String(CLAMP.spec.name), String(WORD_COUNT.spec.name)].sort());
    // The tools the room adds on its own are taken like the built-in ones.
    for (const name of ["find_tool", "build_tool", "workflow_run", "memory_search", "memory_save", "chat_mode"]) expect(taken.has(name)).toBe(true);
  }, 60_000);
});
