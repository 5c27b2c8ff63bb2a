import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { RepoGit } from "../git/repo-git.ts";
import { makeCandidate, promotionRepo, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { readToolAt, takenToolNames, toolsAtRef } from "./tool-catalog.ts";
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

describe("the generated tools of a branch, read through git", () => {
  test("each tool checked as a promoted one: whole and matching, or refused with why; a file-less name is no tool", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const branch = "cand/20261123T101500Z";
    makeCandidate(repo.dir, branch, (worktree) => {
      const generated = join(worktree, "tools", "generated");
      writeFixtureTool(worktree, CLAMP);
      // Changed after validation: its hashes no longer match.
      writeFixtureTool(worktree, CLAMP, { name: "tampered" });
      writeFileSync(join(generated, "tampered", "tool.ts"), `${CLAMP.tool}// changed\n`);
      // A metadata.json that describes another tool.
      writeFixtureTool(worktree, CLAMP, { name: "misnamed" });
      writeFileSync(join(generated, "misnamed", "metadata.json"), readFileSync(join(generated, "clamp_number", "metadata.json")));
      // One file missing, a file where a folder belongs, a folder of folders.
      writeFixtureTool(worktree, CLAMP, { name: "no_tests" });
      rmSync(join(generated, "no_tests", "tool.test.ts"));
      writeFileSync(join(generated, "a_file"), "not a folder\n");
      mkdirSync(join(generated, "nested", "tool.ts"), { recursive: true });
      writeFileSync(join(generated, "nested", "tool.ts", "x"), "x\n");
    });
    const git = new RepoGit(repo.dir);
    const tools = await toolsAtRef(git, `refs/heads/${branch}`);
    expect([...tools.keys()]).toEqual(["a_file", "clamp_number", "misnamed", "nested", "no_tests", "tampered", "word_count"]);
    for (const name of ["clamp_number", "word_count"]) {
      const tool = tools.get(name);
      expect(tool?.ok && tool.metadata.spec.name).toBe(name);
    }
    expect(await readToolAt(git, `refs/heads/${branch}`, "clamp_number")).toEqual(tools.get("clamp_number") ?? { ok: false, problem: "" });
    const clamp = tools.get("clamp_number");
    expect(clamp?.ok && clamp.code).toBe(CLAMP.tool);
    const problem = (name: string) => {
      const tool = tools.get(name);
      return tool?.ok === false ? tool.problem : undefined;
    };
    expect(problem("tampered")).toContain("its files do not match the hashes");
    expect(problem("misnamed")).toContain("describes clamp_number, not misnamed");
    for (const name of ["no_tests", "a_file", "nested"]) expect(problem(name)).toBe(`no tool ${name} on refs/heads/${branch}`);
    // One tool alone reads the same, and a name the branch lacks is no tool.
    expect(await readToolAt(git, `refs/heads/${branch}`, "tampered")).toEqual({ ok: false, problem: problem("tampered") ?? "" });
    expect(await readToolAt(git, `refs/heads/${branch}`, "absent")).toEqual({ ok: false, problem: `no tool absent on refs/heads/${branch}` });
    expect(await toolsAtRef(git, "refs/heads/no-such-branch")).toEqual(new Map());
    expect(gitSync(repo.dir, ["status", "--porcelain"])).toBe("");
  }, 60_000);
});
