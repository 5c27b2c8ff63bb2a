import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { checkoutState, gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { CLAMP, toolsmithRules, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { parseToolMetadata } from "../generated-tools/tool-metadata.ts";
import { runToolsmith, type ToolsmithEvent } from "./run-toolsmith.ts";
import { httpModel } from "../llm/http-model.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { toolsmithRecords } from "../fitness/toolsmith-records.ts";

const FAST = { testTimeoutMs: 10_000 };

function worktreesLeft(repoDir: string): string[] {
  const directory = join(repoDir, ".org", "worktrees");
  return existsSync(directory) ? readdirSync(directory) : [];
}

describe("the toolsmith pipeline (scripted server, real sandbox, throw-away repo)", () => {
  test("a goal becomes a cand/<ts> branch with the tool, its tests and validated metadata; the checkout is untouched", async () => {
    using repo = tempGitRepo();
    await using server = await startScriptedServer({ script: { rules: toolsmithRules(WORD_COUNT) } });
    const before = checkoutState(repo.dir);
    const events: ToolsmithEvent[] = [];
    const outcome = await runToolsmith({
      records: toolsmithRecords,
      ...testSandboxAccess(),
      goal: WORD_COUNT.goal,
      model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
      repoDir: repo.dir,
      settings: FAST,
      onEvent: (event) => events.push(event),
    });
    if (!outcome.ok) throw new Error(outcome.failure);
    expect(outcome.branch).toMatch(/^cand\/\d{8}T\d{6}Z$/);
    expect(outcome.attempts).toBe(3);
    const after = checkoutState(repo.dir).replace(`refs/heads/${outcome.branch} ${outcome.commit}\n`, "");
    expect(after).toBe(before);
    const files = gitSync(repo.dir, ["ls-tree", "-r", "--name-only", outcome.branch, "tools/generated"]).trim().split("\n");
    expect(files.sort()).toEqual([
      "tools/generated/word_count/metadata.json",
      "tools/generated/word_count/tool.test.ts",
      "tools/generated/word_count/tool.ts",
    ]);
    const metadata = parseToolMetadata(gitSync(repo.dir, ["show", `${outcome.branch}:tools/generated/word_count/metadata.json`]), "metadata.json");
    expect(metadata.validation.stages.map((stage) => stage.stage)).toEqual(["policy", "typecheck", "tests", "mutants", "examples", "determinism"]);
    expect(metadata.validation.mutants.total).toBeGreaterThanOrEqual(10);
    expect(metadata.provenance.phases.map((phase) => phase.phase)).toEqual(["spec", "implementation", "tests"]);
    expect(metadata.provenance.phases[0]?.baseUrl).toBe(server.url);
    expect(gitSync(repo.dir, ["log", "-1", "--format=%(trailers:key=Org-Tool,valueonly)", outcome.branch]).trim()).toBe("word_count");
    expect(events.map((event) => event.type)).toContain("branch-created");
    expect(events.filter((event) => event.type === "validation-stage")).toHaveLength(6);
    expect(worktreesLeft(repo.dir)).toEqual([]);
  }, 60_000);

  test("broken code first is repaired on the second round, with the failure sent back", async () => {
    using repo = tempGitRepo();
    const broken = CLAMP.tool.replace("if (value > max) return { result: max };", "if (value > max) return { result: value };");
    await using server = await startScriptedServer({ script: { rules: toolsmithRules(CLAMP, { tools: [broken, CLAMP.tool], embedded: true }) } });
    const events: ToolsmithEvent[] = [];
    const outcome = await runToolsmith({
      records: toolsmithRecords,
      ...testSandboxAccess(),
      goal: CLAMP.goal,
      model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
      repoDir: repo.dir,
      settings: FAST,
      onEvent: (event) => events.push(event),
    });
    expect(outcome).toMatchObject({ ok: true, name: "clamp_number", attempts: 4 });
    expect(events.find((event) => event.type === "validation-failed")).toMatchObject({ stage: "tests", blame: "implementation", round: 1 });
    const repairPrompt = server.requests.filter((request) => JSON.stringify(request.body).includes("failed validation"));
    expect(repairPrompt).toHaveLength(1);
    expect(JSON.stringify(repairPrompt[0]?.body)).toContain("the tests failed");
  }, 60_000);

  test("a model that never gets it right ends with a plain report, no branch and no worktree", async () => {
    using repo = tempGitRepo();
    const wrong = WORD_COUNT.tool.replace("return { words: trimmed.split(/\\s+/).length };", "return { words: trimmed.split(' ').length };");
    await using server = await startScriptedServer({ script: { rules: toolsmithRules(WORD_COUNT, { tools: [wrong] }) } });
    const before = checkoutState(repo.dir);
    const outcome = await runToolsmith({
      records: toolsmithRecords,
      ...testSandboxAccess(),
      goal: WORD_COUNT.goal,
      model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
      repoDir: repo.dir,
      settings: { ...FAST, implementationRepairs: 2 },
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failure).toMatch(/^word_count failed the (tests|examples) stage after 2 repair rounds: /);
    expect(outcome.attempts).toBe(5);
    expect(checkoutState(repo.dir)).toBe(before);
    expect(worktreesLeft(repo.dir)).toEqual([]);
  }, 60_000);
});
