import { describe, expect, test } from "bun:test";
import { chatOnce } from "../llm/chat-once.ts";
import type { ToolDefinition } from "../llm/chat-types.ts";
import { startScriptedServer } from "./start-scripted-server.ts";

const offered = (name: string): ToolDefinition => ({ type: "function", function: { name, description: name, parameters: { type: "object" } } });

describe("rules by offered tool (how the scripted server plays the toolsmith)", () => {
  test("a rule with `tool` answers only a request that offers that tool", async () => {
    await using server = await startScriptedServer({
      script: {
        rules: [
          { when: { tool: "submit_spec" }, reply: { toolCalls: [{ name: "submit_spec", arguments: { name: "x" } }] } },
          { when: { tool: "submit_tests" }, reply: { toolCalls: [{ name: "submit_tests", arguments: { code: "t" } }], embedded: "hermes" } },
        ],
        fallback: { text: "no tool offered" },
      },
    });
    const ask = (tools: ToolDefinition[]) => chatOnce({ baseUrl: server.url, model: "qwen3:8b", messages: [{ role: "user", content: "go" }], tools });
    expect((await ask([offered("submit_spec")])).toolCalls.map((call) => [call.name, call.arguments])).toEqual([["submit_spec", { name: "x" }]]);
    expect((await ask([offered("submit_tests")])).content).toContain("<tool_call>");
    expect((await ask([offered("sh")])).content).toBe("no tool offered");
    expect((await ask([])).content).toBe("no tool offered");
  });
});
