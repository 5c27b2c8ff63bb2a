import { describe, expect, test } from "bun:test";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { toolsmithRules, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { runToolsmith, type ToolsmithEvent } from "./run-toolsmith.ts";
import { parsesAsTypeScript, readSubmittedSource } from "./submitted-source.ts";
import { httpModel } from "../llm/http-model.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { toolsmithRecords } from "../fitness/toolsmith-records.ts";

const TOOL = 'export default function shout(input: { text: string }): { text: string } {\n  return { text: input.text.toUpperCase() + "!" };\n}\n';
const NAMED = "export function shout(input: { text: string }): { text: string } {\n  return { text: input.text.toUpperCase() };\n}\n";

// Each habit a small model has when it submits source, from the extraction tables of llm/extract/ and what local models are known to send:
// what it sends, and what the toolsmith keeps (or undefined when it must ask again).
const HABITS: { name: string; sent: string; kept: string; habit: RegExp }[] = [
  {
    name: "prose, then a ```typescript block",
    sent: `Here is the implementation:\n\n\`\`\`typescript\n${TOOL}\`\`\`\n`,
    kept: TOOL,
    habit: /```typescript fence with prose/,
  },
  {
    name: "a ```ts block with prose after it",
    sent: `\`\`\`ts\n${TOOL}\`\`\`\nThis handles empty text too.`,
    kept: TOOL,
    habit: /```ts fence with prose/,
  },
  { name: "a bare ``` block alone", sent: `\`\`\`\n${TOOL}\`\`\``, kept: TOOL, habit: /bare ``` fence$/ },
  { name: "a ~~~ block", sent: `Sure!\n~~~typescript\n${TOOL}~~~\n`, kept: TOOL, habit: /```typescript fence with prose/ },
  {
    name: "CRLF line ends around a fence",
    sent: `Here it is:\r\n\`\`\`typescript\r\n${TOOL.replaceAll("\n", "\r\n")}\`\`\`\r\n`,
    kept: TOOL,
    habit: /CRLF/,
  },
  { name: "a fence left open at the end (the reply was cut)", sent: `Here:\n\`\`\`ts\n${TOOL}`, kept: TOOL, habit: /left open/ },
  {
    name: "a block beside a non-code block",
    sent: `Run it with:\n\`\`\`sh\nbun test\n\`\`\`\nThe code:\n\`\`\`ts\n${TOOL}\`\`\`\n`,
    kept: TOOL,
    habit: /```ts fence/,
  },
  { name: "the code as a JSON-encoded string", sent: JSON.stringify(TOOL), kept: TOOL, habit: /JSON-encoded/ },
  {
    name: "a JSON-encoded string holding a fence",
    sent: JSON.stringify(`\`\`\`typescript\n${TOOL}\`\`\``),
    kept: TOOL,
    habit: /JSON-encoded.*fence/,
  },
  {
    name: "newlines sent as \\n escapes on one line",
    sent: TOOL.trimEnd().replaceAll('"', '\\"').replaceAll("\n", "\\n"),
    kept: TOOL.trimEnd(),
    habit: /\\n escapes/,
  },
  {
    name: "a leading 'typescript' line (a fence without its backticks)",
    sent: `typescript\n${TOOL}`,
    kept: TOOL,
    habit: /leading 'typescript' line/,
  },
  { name: "a <think> block before the code", sent: `<think>The user wants shouting.</think>\n${TOOL}`, kept: TOOL, habit: /<think>/ },
  {
    name: "Go's \\u003c escapes left in the code",
    sent: "export default (input: { n: number }) => ({ small: input.n \\u003c 10 \\u0026\\u0026 input.n \\u003e 0 });\n",
    kept: "export default (input: { n: number }) => ({ small: input.n < 10 && input.n > 0 });\n",
    habit: /\\u003c/,
  },
  {
    name: "a named export where the default is asked for",
    sent: NAMED,
    kept: `${NAMED.trimEnd()}\n\nexport default shout;\n`,
    habit: /named export \(shout\)/,
  },
  {
    name: "module.exports where the default is asked for",
    sent: "module.exports = (input: { text: string }) => ({ n: input.text.length });\n",
    kept: "export default (input: { text: string }) => ({ n: input.text.length });\n",
    habit: /module\.exports/,
  },
];

describe("a submitted code argument, as small models send it", () => {
  for (const habit of HABITS) {
    test(habit.name, () => {
      const read = readSubmittedSource(habit.sent, "tool.ts");
      if (!read.ok) throw new Error(read.problem);
      expect(read.code).toBe(habit.kept);
      expect(parsesAsTypeScript(read.code)).toBe(true);
      expect(read.habits.join(", ")).toMatch(habit.habit);
    });
  }

  test("source that parses is kept byte for byte, even with a ``` inside a template string", () => {
    const withFence = "export default (input: { text: string }) => ({ md: `\n\\`\\`\\`ts\n${input.text}\n\\`\\`\\`\n` });\n";
    for (const code of [TOOL, withFence]) expect(readSubmittedSource(code, "tool.ts")).toEqual({ ok: true, code, habits: [] });
  });

  test("tests keep what they export: the default-export rule is the tool's alone", () => {
    const tests =
      'import { test } from "bun:test";\nimport tool from "./tool.ts";\nexport const cases = [1];\ntest("x", () => { tool({ text: "a" }); });\n';
    expect(readSubmittedSource(tests, "tool.test.ts")).toEqual({ ok: true, code: tests, habits: [] });
  });

  test("two code blocks are ambiguous: the model is told exactly what to send", () => {
    const read = readSubmittedSource(`First try:\n\`\`\`ts\n${TOOL}\`\`\`\nBetter:\n\`\`\`typescript\n${NAMED}\`\`\`\n`, "tool.ts");
    expect(read).toEqual({
      ok: false,
      problem:
        "your code argument holds 2 fenced markdown blocks, so it is not clear which one is tool.ts. Send tool.ts's whole source as the code string, as plain TypeScript: no markdown fence, no prose before or after it, not JSON-encoded.",
    });
  });

  test("a block in another language only, or an empty block, asks for the source", () => {
    const json = readSubmittedSource('Here:\n```json\n{"code": "x"}\n```\n', "tool.test.ts");
    expect(json.ok).toBe(false);
    if (!json.ok)
      expect(json.problem).toStartWith("your code argument holds a fenced block that is not TypeScript (json). Send tool.test.ts's whole source");
    const empty = readSubmittedSource("```ts\n```\n", "tool.ts");
    expect(empty.ok).toBe(false);
  });
});

describe("the toolsmith takes the block out instead of losing a round (scripted server, real sandbox)", () => {
  test("prose and a ```typescript fence with CRLF line ends land as the plain tool; two blocks get the exact request back", async () => {
    using repo = tempGitRepo();
    const fenced = `Here is the implementation:\r\n\r\n\`\`\`typescript\r\n${WORD_COUNT.tool.replaceAll("\n", "\r\n")}\`\`\`\r\nIt counts runs of non-space characters.`;
    const twoBlocks = `Option one:\n\`\`\`ts\n${WORD_COUNT.tests}\`\`\`\nOption two:\n\`\`\`ts\n${WORD_COUNT.tests}\`\`\`\n`;
    const rules = toolsmithRules(WORD_COUNT, { tools: [fenced] }).filter((rule) => rule.when?.tool !== "submit_tests");
    const tests = (code: string, times?: number) => ({
      when: { tool: "submit_tests", ...(times ? { times } : {}) },
      reply: { toolCalls: [{ name: "submit_tests", arguments: { code } }] },
    });
    await using server = await startScriptedServer({
      script: { rules: [...rules, tests(twoBlocks, 1), tests(`\`\`\`typescript\n${WORD_COUNT.tests}\`\`\``)] },
    });
    const events: ToolsmithEvent[] = [];
    const outcome = await runToolsmith({
      records: toolsmithRecords,
      ...testSandboxAccess(),
      goal: WORD_COUNT.goal,
      model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
      repoDir: repo.dir,
      settings: { testTimeoutMs: 10_000 },
      onEvent: (event) => events.push(event),
    });
    if (!outcome.ok) throw new Error(outcome.failure);
    expect(outcome.attempts).toBe(4);
    const done = events
      .filter((event) => event.type === "phase-done")
      .map((event) => event.type === "phase-done" && `${event.phase}: ${event.detail}`);
    expect(done[1]).toMatch(/^implementation: \d+ lines \(taken out of CRLF line ends, a ```typescript fence with prose around it\)$/);
    expect(done[2]).toMatch(/^tests: \d+ lines \(taken out of a ```typescript fence\)$/);
    const sentBack = server.requests.map((request) => JSON.stringify(request.body)).find((body) => body.includes("Call submit_tests again"));
    expect(sentBack).toContain("your code argument holds 2 fenced markdown blocks, so it is not clear which one is tool.test.ts.");
    const committed = Bun.spawnSync(["git", "show", `${outcome.branch}:tools/generated/word_count/tool.ts`], { cwd: repo.dir }).stdout.toString();
    expect(committed).toBe(WORD_COUNT.tool);
  }, 120_000);
});
