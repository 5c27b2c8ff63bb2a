import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RepoGit } from "../git/repo-git.ts";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { lookUpTool, toolVersions } from "./tool-lookup.ts";
import { liveCandidateToolNames } from "../fitness/candidate-states.ts";

const signal = new AbortController().signal;

describe("a generated tool looked up by name (real git repository, nothing checked out)", () => {
  test("a promoted tool is its checked code; changed after validation, it is refused, saying so", async () => {
    using repo = tempGitRepo();
    const directory = writeGeneratedTool(repo.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    const git = new RepoGit(repo.dir);
    expect(await lookUpTool(git, "word_count", undefined, liveCandidateToolNames, signal)).toMatchObject({ ok: true, code: WORD_COUNT_CODE });
    expect(await toolVersions(git, "word_count", undefined, liveCandidateToolNames, signal)).toMatchObject({
      ok: true,
      versions: [{ code: WORD_COUNT_CODE }],
    });
    writeFileSync(join(directory, "tool.ts"), `${WORD_COUNT_CODE}// changed\n`);
    const changed = {
      ok: false as const,
      problem:
        "word_count: its files do not match the hashes in tools/generated/word_count/metadata.json; it was changed after validation and will not run",
    };
    expect(await lookUpTool(git, "word_count", undefined, liveCandidateToolNames, signal)).toEqual(changed);
    expect(await toolVersions(git, "word_count", undefined, liveCandidateToolNames, signal)).toEqual(changed);
  });

  test("a name with no tool, promoted or on a branch, points at org tool list", async () => {
    using repo = tempGitRepo();
    const git = new RepoGit(repo.dir);
    const missing = await lookUpTool(git, "line_count", undefined, liveCandidateToolNames, signal);
    expect(missing.ok).toBe(false);
    expect(missing.ok ? "" : missing.problem).toEndWith("; see org tool list");
    expect(await lookUpTool(git, "line_count", "main", liveCandidateToolNames, signal)).toEqual({
      ok: false,
      problem: "no tool line_count on main; see org tool list",
    });
    expect(await toolVersions(git, "line_count", undefined, liveCandidateToolNames, signal)).toEqual({
      ok: false,
      problem: "no tool line_count: it is not promoted and no cand/* branch has it; see org tool list",
    });
  });
});
