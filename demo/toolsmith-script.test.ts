import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { noServerHint } from "../cli/command/model-server-probe.ts";
import { scriptedServerCommand } from "../cli/scripted-server-command.ts";
import { RuleMatcher } from "../scripted-server/match-rule.ts";
import { loadScript } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { SCRIPTED_TOOLS, SCRIPTED_TOOLSMITH_FILE, scriptedToolsmithJson } from "../testing/scripted-toolsmith.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { expectValidatedAtDefaults } from "../testing/expect-validated-at-defaults.ts";
import { specPrompt } from "../toolsmith/phase-prompts.ts";
import { runToolsmith } from "../toolsmith/run-toolsmith.ts";
import { httpModel } from "../llm/http-model.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { toolsmithRecords } from "../fitness/toolsmith-records.ts";

const FILE = join(import.meta.dir, "toolsmith-script.json");

describe("the bundled scripted toolsmith (demo/toolsmith-script.json)", () => {
  test("is the fixture table's script: run 'bun testing/scripted-toolsmith.ts' after changing a fixture", () => {
    expect(SCRIPTED_TOOLSMITH_FILE).toBe(FILE);
    expect(readFileSync(FILE, "utf8")).toBe(scriptedToolsmithJson());
  });

  test("what a newcomer reads of it says how many tools it builds, and the number is the table's", () => {
    const count = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"][SCRIPTED_TOOLS.length];
    const said = [
      noServerHint("http://127.0.0.1:11434").join("\n"),
      scriptedServerCommand.help.replace(/\s+/g, " "),
      readFileSync(join(import.meta.dir, "..", "docs", "tools.md"), "utf8").replace(/\s+/g, " "),
    ];
    for (const text of said) expect(text).toMatch(new RegExp(`\\b${count} small tools\\b`));
  });

  test("picks the tool by the goal's words, however they are put", async () => {
    const matcher = new RuleMatcher(await loadScript(FILE));
    const picked = (goal: string) => {
      const { reply } = matcher.pick({ model: "qwen3:8b", messages: specPrompt(goal, ["sh"]), toolNames: ["submit_spec"] });
      return (reply.toolCalls?.[0]?.arguments as { name?: string } | undefined)?.name ?? reply.text;
    };
    expect(picked("How many vowels are in this text?")).toBe("vowel_count");
    expect(picked("Reverse the words of a sentence")).toBe("reverse_words");
    expect(picked("count the words in a text")).toBe("word_count");
    expect(picked("turn a blog title into a URL slug")).toBe("slugify");
    expect(picked("Fahrenheit from Celsius, please")).toBe("celsius_to_fahrenheit");
    expect(picked("the biggest number in a list")).toBe("max_of_list");
    // Each tool's own goal picks that tool, the ones the ten-generation proof builds from this file.
    for (const { fixture, goal } of SCRIPTED_TOOLS) expect(picked(goal)).toBe(fixture.spec.name as string);
    expect(picked("sort a list")).toStartWith("I am the scripted toolsmith: no model, 11 tools I know by their goal's words");
  });

  // The tools' answers are the fixture table's (toolsmith/toolsmith-table.test.ts validates each of them at the
  // default thresholds) and the generations proof (testing/generations.e2e.tmux.test.ts) builds seven of them from this
  // very file through `org tool new`; here one is built from the file, as the demo builds it.
  test("builds a tool from the script in three phases, passing validation at the default thresholds; a taken name and an unknown goal fail, saying why", async () => {
    using repo = tempGitRepo();
    await using server = await startScriptedServer({ script: await loadScript(FILE) });
    const outcome = await runToolsmith({
      records: toolsmithRecords,
      ...testSandboxAccess(),
      goal: "count the words in a text",
      model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
      repoDir: repo.dir,
    });
    if (!outcome.ok) throw new Error(`count the words in a text: ${outcome.failure}`);
    expect(outcome.name).toBe("word_count");
    expect(outcome.attempts).toBe(3);
    expectValidatedAtDefaults(repo.dir, outcome.branch, "word_count");

    // The same goal again: the name is taken by the live candidate, and the failure says so.
    const again = await runToolsmith({
      records: toolsmithRecords,
      ...testSandboxAccess(),
      goal: "count the words in a text",
      model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
      repoDir: repo.dir,
    });
    expect(again).toMatchObject({ ok: false });
    if (!again.ok) expect(again.failure).toContain("the name word_count is taken");
    // A goal it does not know: the failure says what it can build.
    const unknown = await runToolsmith({
      records: toolsmithRecords,
      ...testSandboxAccess(),
      goal: "sort a list of names",
      model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
      repoDir: repo.dir,
    });
    expect(unknown).toMatchObject({ ok: false });
    if (!unknown.ok) expect(unknown.failure).toContain('It said: "I am the scripted toolsmith: no model, 11 tools');
  }, 120_000);
});
