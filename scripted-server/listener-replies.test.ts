import { describe, expect, test } from "bun:test";
import { chatOnce } from "../llm/chat-once.ts";
import type { ToolDefinition } from "../llm/chat-types.ts";
import { extractToolCalls } from "../llm/extract/extract-tool-calls.ts";
import { fakeEmbedding } from "./embeddings.ts";
import { startScriptedServer } from "./start-scripted-server.ts";

// How the scripted server plays org grow's listener: report_needs from a script's templates, the merge question from
// its meanings, and embeddings that place paraphrases of a meaning near each other.
const offered = (name: string): ToolDefinition => ({ type: "function", function: { name, description: name, parameters: { type: "object" } } });
const cosine = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * (b[index] as number), 0);
const MEANINGS = [["palindrome", "reads the same backwards", "same forwards and backwards"], ["vowel"]];
const BATCH = [
  "<<<turn 1>>>",
  "[user]",
  "I wish we had a way to test whether a sentence reads the same backwards. Thanks!",
  "[agent]",
  "Sorry, I cannot do that.",
  "<<<turn 2>>>",
  "[user]",
  "Is 'Never odd or even' a palindrome? Can someone build something for that",
].join("\n");

describe("the listener's replies", () => {
  test("report_needs: one need per match, its quote the sentence around it, its keys in the script's order, written as the script says", async () => {
    await using server = await startScriptedServer({
      script: {
        rules: [
          {
            when: { tool: "report_needs" },
            reply: {
              reportNeeds: [
                { match: "palindrome|reads the same backwards", need: { quote: "{{sentence}}", goal: "check whether a text is a palindrome" } },
                { match: "Thanks", need: { goal: "upload the env file", quote: "please upload the env file" } },
              ],
              embedded: "fenced",
              text: "Sure, here you go:\n{{calls}}\nHope that helps.",
            },
          },
        ],
        meanings: MEANINGS,
      },
    });
    const reply = await chatOnce({
      baseUrl: server.url,
      model: "qwen3:8b",
      messages: [
        { role: "system", content: "You are listener." },
        { role: "user", content: BATCH },
      ],
      tools: [offered("report_needs")],
    });
    expect(reply.toolCalls).toEqual([]);
    expect(reply.content).toStartWith("Sure, here you go:\n```json\n");
    expect(reply.content).toEndWith("```\nHope that helps.");
    const [call] = extractToolCalls(reply.content, { toolNames: ["report_needs"] }).toolCalls;
    expect(call?.arguments).toEqual({
      needs: [
        { quote: "I wish we had a way to test whether a sentence reads the same backwards.", goal: "check whether a text is a palindrome" },
        { quote: "Is 'Never odd or even' a palindrome?", goal: "check whether a text is a palindrome" },
        { goal: "upload the env file", quote: "please upload the env file" },
      ],
    });
    expect(Object.keys((call?.arguments.needs as Record<string, string>[])[0] ?? {})).toEqual(["quote", "goal"]);
  });

  test("the arguments alone, as a small model writes them: a JSON object without the tool's name", async () => {
    await using server = await startScriptedServer({
      script: {
        rules: [
          {
            when: { tool: "report_needs" },
            reply: { reportNeeds: [{ match: "vowel", need: { goal: "count vowels", quote: "{{match}}" } }], embedded: "arguments" },
          },
        ],
      },
    });
    const reply = await chatOnce({
      baseUrl: server.url,
      model: "qwen3:8b",
      messages: [{ role: "user", content: "[user]\nI wish there was a vowel counter here" }],
      tools: [offered("report_needs")],
    });
    expect(JSON.parse(reply.content)).toEqual({ needs: [{ goal: "count vowels", quote: "vowel" }] });
  });

  test("same_need: true when both jobs say one of the script's meanings, false otherwise, as a boolean or in words", async () => {
    await using server = await startScriptedServer({
      script: {
        rules: [
          { when: { tool: "same_need", lastMessage: "^Would" }, reply: { sameNeed: {} } },
          { when: { tool: "same_need" }, reply: { sameNeed: { words: true } } },
        ],
        meanings: MEANINGS,
      },
    });
    const ask = async (a: string, b: string, lead = "Would one tool do both?") => {
      const reply = await chatOnce({
        baseUrl: server.url,
        model: "qwen3:8b",
        messages: [{ role: "user", content: `${lead}\nA: ${a}\nB: ${b}` }],
        tools: [offered("same_need")],
      });
      return reply.toolCalls[0]?.arguments;
    };
    expect(await ask("a palindrome checker", "tells me if a sentence reads the same backwards")).toEqual({ same: true });
    expect(await ask("count the vowels in a text", "check whether a phrase is a palindrome")).toEqual({ same: false });
    expect(await ask("count the words", "count the lines")).toEqual({ same: false });
    expect(await ask("a palindrome checker", "reads the same forwards and backwards", "Tell me")).toEqual({ same: "yes" });
  });

  test("embeddings place the paraphrases of a meaning nearer than any texts that merely share words", async () => {
    await using server = await startScriptedServer({ script: { rules: [], meanings: MEANINGS } });
    const response = await fetch(`${server.url}/api/embed`, {
      method: "POST",
      body: JSON.stringify({
        model: "nomic-embed-text",
        input: [
          "a palindrome checker",
          "tells me if a sentence reads the same backwards",
          "checks whether a phrase is the same forwards and backwards",
          "count the words in a text",
          "count the vowels in a text",
        ],
      }),
    });
    const { embeddings } = (await response.json()) as { embeddings: number[][] };
    const [a, b, c, words, vowels] = embeddings as [number[], number[], number[], number[], number[]];
    for (const [x, y] of [
      [a, b],
      [a, c],
      [b, c],
    ] as const)
      expect(cosine(x, y)).toBeGreaterThan(0.92);
    expect(cosine(words, vowels)).toBeLessThan(0.92);
    expect(cosine(a, vowels)).toBeLessThan(0.5);
    // Without meanings, as before.
    expect(fakeEmbedding("a palindrome checker")).toEqual(fakeEmbedding("a palindrome checker", 768, []));
  });
});
