// The bundled scripted toolsmith (demo/toolsmith-script.json), made from the fixture table: it builds any of eleven
// small tools, chosen by the words of the goal. `bun testing/scripted-toolsmith.ts` writes the file again;
// demo/toolsmith-script.test.ts fails when the two differ.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScriptInput } from "../scripted-server/script.ts";
import {
  CELSIUS,
  CLAMP,
  FIZZBUZZ,
  MAX,
  PALINDROME,
  REVERSE,
  SLUGIFY,
  SPLIT_LINES,
  SUM,
  type ToolFixture,
  VOWELS,
  WORD_COUNT,
} from "./toolsmith-fixtures.ts";

/**
 * One tool the scripted toolsmith knows: the goal words that pick it (a regex), a goal a person would type, and phrases
 * that say its job (the scripted listener's meaning of it: two needs that say one are one need).
 */
export type ScriptedTool = {
  fixture: ToolFixture;
  words: string;
  goal: string;
  says: readonly string[];
  /**
   * What the scripted listener hears as a person asking for it, when `words` is too wide for that: the toolsmith takes
   * the first tool whose words a goal has, the listener every tool whose words a sentence has ("reverse the words" has
   * "words", which asks for no word count).
   */
  heard?: string;
};

/** Most specific first: "reverse the words" must not be taken for a word count. */
export const SCRIPTED_TOOLS: readonly ScriptedTool[] = [
  {
    fixture: REVERSE,
    words: "\\brevers",
    goal: "reverse the order of the words in a sentence",
    says: ["reverse the order of the words", "reverse the words", "words in reverse order", "words backwards"],
  },
  {
    fixture: PALINDROME,
    words: "palindrom",
    goal: "check whether a phrase is a palindrome",
    says: ["palindrome", "reads the same backwards", "same forwards and backwards"],
  },
  { fixture: VOWELS, words: "vowel", goal: "count the vowels in a text", says: ["vowel"] },
  { fixture: SLUGIFY, words: "\\bslug|\\burl\\b", goal: "slugify a title for a URL", says: ["slug", "title for a url"] },
  { fixture: CELSIUS, words: "celsius|fahrenheit", goal: "convert Celsius to Fahrenheit", says: ["celsius", "fahrenheit"] },
  { fixture: FIZZBUZZ, words: "fizz|buzz", goal: "the fizzbuzz word for a number", says: ["fizzbuzz", "fizz buzz"] },
  { fixture: CLAMP, words: "\\bclamp", goal: "clamp a number into a range", says: ["clamp", "within bounds", "into a range"] },
  {
    fixture: MAX,
    words: "\\b(max|maximum|largest|biggest|greatest)\\b",
    goal: "the largest number of a list",
    says: ["largest number", "biggest number", "greatest number", "maximum of"],
  },
  { fixture: SUM, words: "\\b(sum|add up|adds up|total)\\b", goal: "add up a list of numbers", says: ["add up", "sum of", "sum the", "total of"] },
  {
    fixture: SPLIT_LINES,
    words: "\\bsplit\\b|\\binto (its )?lines\\b",
    goal: "split a text into its lines",
    says: ["into its lines", "into lines", "split the lines"],
  },
  {
    fixture: WORD_COUNT,
    words: "\\bwords?\\b",
    heard: "\\bcount(?:s|ing)?\\s+(?:the\\s+|all\\s+|its\\s+)?words?\\b|\\bwords?\\s+count",
    goal: "count the words in a text",
    says: ["count the words", "word count", "how many words", "number of words", "counts the words"],
  },
];

const call = (name: string, args: Record<string, unknown>) => ({ toolCalls: [{ name, arguments: args }] });
// Every phase prompt starts with "Goal: <the goal>"; only that line picks the tool.
const onGoal = (words: string) => `^Goal: [^\\n]*(${words})`;
const toolName = (fixture: ToolFixture) => fixture.spec.name as string;

const KNOWN =
  `I am the scripted toolsmith: no model, ${SCRIPTED_TOOLS.length} tools I know by their goal's ` +
  `words — ${SCRIPTED_TOOLS.map((tool) => tool.goal).join("; ")}. Ask for one of these, or point OLLAMA_BASE and OLLAMA_MODEL at a real model.`;

/** The script: the room's build_tool decision, then each phase's answer, for every tool of SCRIPTED_TOOLS. */
export function scriptedToolsmithScript(): ScriptInput {
  return {
    models: ["qwen3:8b", "scripted"],
    rules: [
      ...SCRIPTED_TOOLS.map(({ fixture, words }) => ({
        when: { tool: "submit_spec", lastMessage: onGoal(words) },
        reply: call("submit_spec", fixture.spec),
      })),
      // A name already taken (promoted, or a live candidate) is sent back; the same spec again ends the run saying so.
      ...SCRIPTED_TOOLS.map(({ fixture }) => ({
        when: { tool: "submit_spec", lastMessage: `\\bthe name ${toolName(fixture)} is taken\\b` },
        reply: call("submit_spec", fixture.spec),
      })),
      { when: { tool: "submit_spec" }, reply: { text: KNOWN } },
      ...SCRIPTED_TOOLS.map(({ fixture, words }) => ({
        when: { tool: "submit_implementation", lastMessage: onGoal(words) },
        reply: call("submit_implementation", { code: fixture.tool }),
      })),
      ...SCRIPTED_TOOLS.map(({ fixture, words }) => ({
        when: { tool: "submit_tests", lastMessage: onGoal(words) },
        reply: call("submit_tests", { code: fixture.tests }),
      })),
      ...SCRIPTED_TOOLS.map(({ words, goal }) => ({
        when: { tool: "build_tool", lastMessage: words },
        reply: call("build_tool", { goal }),
      })),
      {
        when: { tool: "build_tool" },
        reply: { text: "I build tools on request: say what it should take and return, and I write, test and validate it on a candidate branch." },
      },
      {
        when: { persona: "agent" },
        reply: { text: "I run shell commands in the sandbox, and I call the tools the toolsmith builds once the fitness gate promotes them." },
      },
      { when: { persona: "python" }, reply: { text: "Tools are the toolsmith's job." } },
    ],
  };
}

/** The file as it should be. */
export function scriptedToolsmithJson(): string {
  return `${JSON.stringify(scriptedToolsmithScript(), null, 2)}\n`;
}

export const SCRIPTED_TOOLSMITH_FILE = join(import.meta.dir, "..", "demo", "toolsmith-script.json");

if (import.meta.main) writeFileSync(SCRIPTED_TOOLSMITH_FILE, scriptedToolsmithJson());
