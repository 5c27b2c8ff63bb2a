import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { checkoutState, tempGitRepo } from "../testing/temp-git-repo.ts";
import { CLAMP, toolsmithRules, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { runToolsmith, type ToolsmithEvent } from "./run-toolsmith.ts";
import { httpModel } from "../llm/http-model.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { toolsmithRecords } from "../fitness/toolsmith-records.ts";

const FAST = { testTimeoutMs: 10_000 };

function worktreesLeft(repoDir: string): string[] {
  const directory = join(repoDir, ".org", "worktrees");
  return existsSync(directory) ? readdirSync(directory) : [];
}

// A goal landing as a cand/<ts> branch, with its files, metadata, provenance, trailer and events and the checkout
// untouched, is toolsmith-table.test.ts's first case, for each of ten goals.
describe("the toolsmith pipeline (scripted server, real sandbox, throw-away repo)", () => {
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
      // One repair round (not the default three) proves the bound: the run ends when it is used up.
      settings: { ...FAST, implementationRepairs: 1 },
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failure).toMatch(/^word_count failed the (tests|examples) stage after 1 repair round: /);
    expect(outcome.attempts).toBe(4);
    expect(checkoutState(repo.dir)).toBe(before);
    expect(worktreesLeft(repo.dir)).toEqual([]);
  }, 60_000);
});
