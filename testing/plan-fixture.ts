// A repository that is both workspace and the repo whose tools a plan uses: twenty real generated tools, committed on
// main, and a saved workflow; with the scripted planner's rules for the tests of `org workflow plan`.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ToolSpec } from "../generated-tools/tool-metadata.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { writeGeneratedTool } from "./generated-tool-fixture.ts";
import { gitSync, tempGitRepo } from "./temp-git-repo.ts";

const object = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties) });
const TEXT = { text: { type: "string" } };
const NUMBER = { number: { type: "number" } };
const NUMBERS = { numbers: { type: "array", items: { type: "number" } } };

type PlanFixtureTool = {
  name: string;
  description: string;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
  example: [unknown, unknown];
  code: string;
};

const tool = (
  name: string,
  description: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
  example: [unknown, unknown],
  body: string,
): PlanFixtureTool => ({
  name,
  description,
  input,
  output,
  example,
  code: `export default (input: any) => ${body};\n`,
});

/** Twenty small tools, each one a real function the sandboxed runner runs. */
export const PLAN_TOOLS: PlanFixtureTool[] = [
  tool(
    "square",
    "Squares a number: the number times itself.",
    NUMBER,
    { result: { type: "number" } },
    [{ number: 3 }, { result: 9 }],
    "({ result: input.number * input.number })",
  ),
  tool(
    "cube",
    "Cubes a number: the number to the third power.",
    NUMBER,
    { result: { type: "number" } },
    [{ number: 2 }, { result: 8 }],
    "({ result: input.number ** 3 })",
  ),
  tool(
    "sum_list",
    "Adds up a list of numbers.",
    NUMBERS,
    { sum: { type: "number" } },
    [{ numbers: [1, 2] }, { sum: 3 }],
    "({ sum: input.numbers.reduce((a: number, b: number) => a + b, 0) })",
  ),
  tool(
    "max_of_list",
    "The largest number of a list.",
    NUMBERS,
    { max: { type: "number" } },
    [{ numbers: [1, 5] }, { max: 5 }],
    "({ max: Math.max(...input.numbers) })",
  ),
  tool(
    "split_lines",
    "Splits a text into its non-empty lines.",
    TEXT,
    { lines: { type: "array", items: { type: "string" } } },
    [{ text: "a\nb" }, { lines: ["a", "b"] }],
    '({ lines: input.text.split("\\n").filter((line: string) => line.trim() !== "") })',
  ),
  tool(
    "split_words",
    "Splits a text into its words.",
    TEXT,
    { words: { type: "array", items: { type: "string" } } },
    [{ text: "a b" }, { words: ["a", "b"] }],
    "({ words: input.text.split(/\\s+/).filter(Boolean) })",
  ),
  tool(
    "word_count",
    "Counts the words in a text.",
    TEXT,
    { words: { type: "integer" } },
    [{ text: "a b" }, { words: 2 }],
    "({ words: input.text.split(/\\s+/).filter(Boolean).length })",
  ),
  tool(
    "char_count",
    "Counts the characters of a text.",
    TEXT,
    { chars: { type: "integer" } },
    [{ text: "ab" }, { chars: 2 }],
    "({ chars: [...input.text].length })",
  ),
  tool(
    "count_vowels",
    "Counts the vowels (a, e, i, o, u) in a text.",
    TEXT,
    { vowels: { type: "integer" } },
    [{ text: "hello" }, { vowels: 2 }],
    "({ vowels: (input.text.match(/[aeiou]/gi) ?? []).length })",
  ),
  tool("shout", "Upper-cases a text.", TEXT, { text: { type: "string" } }, [{ text: "hi" }, { text: "HI" }], "({ text: input.text.toUpperCase() })"),
  tool(
    "whisper",
    "Lower-cases a text.",
    TEXT,
    { text: { type: "string" } },
    [{ text: "HI" }, { text: "hi" }],
    "({ text: input.text.toLowerCase() })",
  ),
  tool(
    "reverse_text",
    "Reverses the characters of a text.",
    TEXT,
    { text: { type: "string" } },
    [{ text: "ab" }, { text: "ba" }],
    '({ text: [...input.text].reverse().join("") })',
  ),
  tool(
    "is_even",
    "Says whether a whole number is even.",
    { number: { type: "integer" } },
    { even: { type: "boolean" } },
    [{ number: 4 }, { even: true }],
    "({ even: input.number % 2 === 0 })",
  ),
  tool(
    "is_palindrome",
    "Says whether a text reads the same backwards, ignoring case and spaces.",
    TEXT,
    { palindrome: { type: "boolean" } },
    [{ text: "Abba" }, { palindrome: true }],
    '({ palindrome: ((t: string) => t === [...t].reverse().join(""))(input.text.toLowerCase().replace(/[^a-z0-9]/g, "")) })',
  ),
  tool(
    "celsius_to_fahrenheit",
    "Converts degrees Celsius to Fahrenheit.",
    { celsius: { type: "number" } },
    { fahrenheit: { type: "number" } },
    [{ celsius: 100 }, { fahrenheit: 212 }],
    "({ fahrenheit: input.celsius * 9 / 5 + 32 })",
  ),
  tool(
    "slugify",
    "Turns a title into a URL slug: lower case, words joined by hyphens.",
    TEXT,
    { slug: { type: "string" } },
    [{ text: "Hello World" }, { slug: "hello-world" }],
    '({ slug: input.text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") })',
  ),
  tool(
    "repeat_text",
    "Repeats a text a number of times.",
    { text: { type: "string" }, times: { type: "integer" } },
    { text: { type: "string" } },
    [{ text: "a", times: 2 }, { text: "aa" }],
    "({ text: input.text.repeat(input.times) })",
  ),
  tool(
    "trim_text",
    "Removes the spaces around a text.",
    TEXT,
    { text: { type: "string" } },
    [{ text: " a " }, { text: "a" }],
    "({ text: input.text.trim() })",
  ),
  tool(
    "add_numbers",
    "Adds two numbers.",
    { a: { type: "number" }, b: { type: "number" } },
    { sum: { type: "number" } },
    [{ a: 1, b: 2 }, { sum: 3 }],
    "({ sum: input.a + input.b })",
  ),
  tool(
    "first_word",
    "The first word of a text.",
    TEXT,
    { word: { type: "string" } },
    [{ text: "a b" }, { word: "a" }],
    '({ word: input.text.split(/\\s+/).filter(Boolean)[0] ?? "" })',
  ),
];

/** A tool's test file: its example, as the gate runs every tool's tests. */
const testsOf = (entry: PlanFixtureTool) =>
  `import { expect, test } from "bun:test";\nimport tool from "./tool.ts";\ntest("its example", () => ` +
  `expect(tool(${JSON.stringify(entry.example[0])})).toEqual(${JSON.stringify(entry.example[1])}));\n`;

const specOf = (entry: PlanFixtureTool): ToolSpec => ({
  name: entry.name,
  description: entry.description,
  input_schema: object(entry.input),
  output_schema: object(entry.output),
  examples: [
    { input: entry.example[0], output: entry.example[1] },
    { input: entry.example[0], output: entry.example[1] },
  ],
  deterministic: true,
  capabilities: { network: false, filesystem: "none" },
});

/** A saved workflow the plans may nest: the words of a text, counted per line and in all. */
export const LINE_WORDS_WORKFLOW = {
  name: "words per line",
  inputs: object(TEXT),
  steps: [
    { id: "split", tool: "split_lines", inputs: { text: "$inputs.text" } },
    { id: "count", tool: "word_count", foreach: "$steps.split.output.lines", inputs: { text: "$item" } },
  ],
  output: { per_line: "$steps.count.output" },
};

/** Writes the named tools of PLAN_TOOLS (all of them by default) into `dir/tools/generated/`. */
export function writePlanTools(dir: string, names?: readonly string[]): void {
  for (const entry of PLAN_TOOLS) if (!names || names.includes(entry.name)) writeGeneratedTool(dir, specOf(entry), entry.code, testsOf(entry));
}

/** A repository with the twenty tools and `workflows/line-words.json` committed on main; removed when disposed. */
export function planRepo(prefix = "org-plan-"): { dir: string } & Disposable {
  const repo = tempGitRepo(prefix);
  writePlanTools(repo.dir);
  mkdirSync(join(repo.dir, "workflows"));
  writeFileSync(join(repo.dir, "workflows", "line-words.json"), `${JSON.stringify(LINE_WORDS_WORKFLOW, null, 2)}\n`);
  writeFileSync(join(repo.dir, ".gitignore"), ".org/\n");
  gitSync(repo.dir, ["add", "-A"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "tools and a workflow"]);
  return repo;
}

/** A planner rule: when the goal (in the first message) matches, answer with `submit_workflow(plan)`, at most `times` times. */
export const planRule = (goal: string, plan: Record<string, unknown>, times?: number): ScriptInput["rules"][number] => ({
  when: { persona: "planner", lastMessage: `^Goal: ${goal}`, ...(times !== undefined ? { times } : {}) },
  reply: { toolCalls: [{ name: "submit_workflow", arguments: plan }] },
});

/** A planner rule for a refused plan coming back: when the feedback names `error`, answer with `plan`. */
export const repairRule = (error: string, plan: Record<string, unknown>): ScriptInput["rules"][number] => ({
  when: { persona: "planner", lastRole: "user", lastMessage: `refused[\\s\\S]*${error}` },
  reply: { toolCalls: [{ name: "submit_workflow", arguments: plan }] },
});
