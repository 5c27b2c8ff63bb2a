import { describe, expect, test } from "bun:test";
import type { ChatMessage, ToolDefinition } from "./chat-types.ts";
import { DEFAULT_CHARS_PER_TOKEN, promptSize, TokenEstimator } from "./token-estimate.ts";

const tool: ToolDefinition = {
  type: "function",
  function: {
    name: "sh",
    description: "Runs a shell command in the sandbox.",
    parameters: { type: "object", properties: { cmd: { type: "string" } } },
  },
};
const prose = "The build runs the tests first, then packs the bundle; a failure stops it and says which file broke. ".repeat(12);

/** The scripted server's stated rule (scripted-server/README.md): ceil(chars/4) + 4 per message, ceil(json/4) for the tools. */
function serverCount(messages: readonly ChatMessage[], tools: readonly ToolDefinition[]): number {
  const perMessage = messages.reduce((sum, message) => sum + Math.ceil((message.content?.length ?? 0) / 4) + 4, 0);
  return perMessage + (tools.length > 0 ? Math.ceil(JSON.stringify(tools).length / 4) : 0);
}

describe("the token estimate", () => {
  test("counts text, each message's template overhead and the tools, within 10 % of the scripted server's count", () => {
    const estimator = new TokenEstimator();
    for (const messages of [
      [
        { role: "system" as const, content: "You are agent, a helper." },
        { role: "user" as const, content: prose },
      ],
      Array.from({ length: 30 }, (_, index): ChatMessage => ({ role: index % 2 ? "assistant" : "user", content: prose.slice(0, 40 + index * 37) })),
    ]) {
      const estimate = estimator.promptTokens("m", promptSize(messages, [tool]));
      const counted = serverCount(messages, [tool]);
      expect(Math.abs(estimate - counted) / counted).toBeLessThan(0.1);
    }
  });

  test("a model's reported prompt_tokens moves its ratio, smoothed and bounded, and no other model's", () => {
    const estimator = new TokenEstimator();
    const messages: ChatMessage[] = [{ role: "user", content: prose }];
    const size = promptSize(messages);
    // A tokenizer that makes two characters a token: the ratio moves toward 2, a step at a time.
    const reported = Math.ceil(size.chars / 2) + 4;
    estimator.calibrate("small", size, reported);
    const once = estimator.charsPerToken("small");
    expect(once).toBeLessThan(DEFAULT_CHARS_PER_TOKEN);
    expect(once).toBeGreaterThan(2);
    for (let round = 0; round < 30; round += 1) estimator.calibrate("small", size, reported);
    expect(Math.abs(estimator.charsPerToken("small") - 2)).toBeLessThan(0.05);
    expect(Math.abs(estimator.promptTokens("small", size) - reported) / reported).toBeLessThan(0.02);
    expect(estimator.charsPerToken("other")).toBe(DEFAULT_CHARS_PER_TOKEN);
    // An absurd count (a cached prefix, a server's bug) is bounded; one too small to hold the overheads is ignored.
    estimator.calibrate("odd", size, 1_000_000);
    expect(estimator.charsPerToken("odd")).toBeGreaterThanOrEqual(1.5 * 0.3 + 4 * 0.7 - 1e-9);
    estimator.calibrate("tiny", size, 2);
    expect(estimator.charsPerToken("tiny")).toBe(DEFAULT_CHARS_PER_TOKEN);
    estimator.calibrate("short", promptSize([{ role: "user", content: "hi" }]), 50);
    expect(estimator.charsPerToken("short")).toBe(DEFAULT_CHARS_PER_TOKEN);
  });
});
