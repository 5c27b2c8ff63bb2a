import { describe, expect, test } from "bun:test";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { chatFailure } from "../testing/chat-helpers.ts";
import { anthropicConversation } from "./anthropic-messages.ts";
import type { ChatMessage, ToolDefinition } from "./chat-types.ts";
import { modelFor } from "./model-for.ts";
import { serverKeys } from "./server-keys.ts";

// org's client on Anthropic's Messages API, against the scripted server speaking it: the request as Anthropic takes it,
// the key as x-api-key to its own server only, a tool's round trip, and each error the API documents.

const tools: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city.",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
  },
];

const script: ScriptInput = {
  models: ["claude-test"],
  rules: [
    { when: { lastTool: "get_weather" }, reply: { text: "It is {{lastMessage}}." } },
    { when: { lastMessage: "overloaded" }, reply: { fault: { status: 529 } } },
    { when: { lastMessage: "rate" }, reply: { fault: { status: 429, retryAfterS: 7 } } },
    { when: { lastMessage: "key" }, reply: { fault: { status: 401 } } },
    { when: { lastMessage: "long" }, reply: { fault: { status: 400, message: "prompt is too long: 210000 tokens > 200000 maximum" } } },
    {
      when: { lastMessage: "weather" },
      reply: { reasoning: "A tool answers this.", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
    },
  ],
};

async function claude() {
  const server = await startScriptedServer({ script });
  const keys = serverKeys({ defaultServer: "http://127.0.0.1:1", defaultKey: "sk-default", named: [{ server: server.url, key: "sk-ant-test" }] });
  const model = modelFor({ server: server.url, modelId: "claude-test", api: "anthropic", retry: { retries: 0 } }, keys);
  return { server, model };
}

describe("Anthropic's Messages API", () => {
  test("a tool's round trip: system as the system field, tools with input_schema, tool_use then tool_result, the key as x-api-key", async () => {
    const { server, model } = await claude();
    await using _ = server;
    const messages: ChatMessage[] = [
      { role: "system", content: "You are agent." },
      { role: "user", content: "weather in Oslo?" },
    ];
    const first = await model.stream({ messages, tools });
    expect(first.reasoning).toBe("A tool answers this.");
    expect(first.finishReason).toBe("tool_calls");
    const call = first.toolCalls[0];
    expect(call).toMatchObject({ name: "get_weather", arguments: { city: "Oslo" } });
    const second = await model.stream({
      messages: [
        ...messages,
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: call?.id ?? "", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }],
        },
        { role: "tool", tool_call_id: call?.id ?? "", content: "sunny, 21 °C" },
      ],
      tools,
    });
    expect(second.content).toBe("It is sunny, 21 °C.");
    expect(second.usage?.promptTokens).toBeGreaterThan(0);
    const [ask, answer] = server.requests;
    expect(ask?.path).toBe("/v1/messages");
    expect(ask?.apiKey).toBe("sk-ant-test");
    expect(ask?.authorization).toBeUndefined();
    expect(ask?.body).toMatchObject({
      model: "claude-test",
      system: "You are agent.",
      max_tokens: 4096,
      stream: true,
      messages: [{ role: "user", content: [{ type: "text", text: "weather in Oslo?" }] }],
      tools: [{ name: "get_weather", description: "The weather in a city.", input_schema: { type: "object" } }],
    });
    expect(answer?.body).toMatchObject({
      messages: [
        { role: "user" },
        { role: "assistant", content: [{ type: "tool_use", id: call?.id, name: "get_weather", input: { city: "Oslo" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call?.id, content: "sunny, 21 °C" }] },
      ],
    });
  });

  test("the model list comes from /v1/models with the key; stopAt bounds max_tokens", async () => {
    const { server, model } = await claude();
    await using _ = server;
    expect(await model.listModels()).toEqual(["claude-test"]);
    expect((await model.probe()).reachable).toBe(true);
    expect(server.requests.map((request) => [request.path, request.apiKey])).toEqual([
      ["/v1/models", "sk-ant-test"],
      ["/v1/models", "sk-ant-test"],
    ]);
    await model.stream({ messages: [{ role: "user", content: "hello" }], stopAt: { tokens: 300 } });
    expect(server.requests.at(-1)?.body).toMatchObject({ max_tokens: 300 });
    // stopAt cuts the stream where the reply has spent its characters, as on every wire; a cut reply runs no calls.
    const cut = await model.stream({ messages: [{ role: "user", content: "weather?" }], stopAt: { chars: 5 } });
    expect(cut.limitReached).toBeDefined();
    expect(cut.reasoning.length + cut.content.length).toBeLessThanOrEqual(5);
    expect(cut.toolCalls).toEqual([]);
    expect((await model.window()).source).toBe("anthropic");
  });

  test("each error is said clearly: overloaded and rate limit retryable (with retry-after), a bad key and a prompt too long not", async () => {
    const { server, model } = await claude();
    await using _ = server;
    const failure = (text: string) => chatFailure(model.stream({ messages: [{ role: "user", content: text }] }));
    const overloaded = await failure("overloaded");
    expect(overloaded).toMatchObject({ kind: "http", status: 529, retryable: true });
    expect(overloaded.message).toContain("overloaded_error");
    const limited = await failure("rate");
    expect(limited).toMatchObject({ kind: "http", status: 429, retryable: true, retryAfterMs: 7000 });
    expect(limited.message).toContain("rate_limit_error");
    const refused = await failure("key");
    expect(refused).toMatchObject({ kind: "http", status: 401, retryable: false });
    expect(refused.message).toContain("authentication_error");
    expect(refused.message).toContain("apiKeyEnv");
    const long = await failure("long");
    expect(long).toMatchObject({ kind: "context_overflow", status: 400, retryable: false });
  });

  test("an overloaded (529) server is retried before the first byte, as Anthropic says to", async () => {
    await using server = await startScriptedServer({
      script: { models: ["m"], rules: [{ when: { times: 1 }, reply: { fault: { status: 529 } } }, { reply: { text: "back" } }] },
    });
    const model = modelFor({ server: server.url, modelId: "m", api: "anthropic", retry: { retries: 2, baseDelayMs: 1 } }, {});
    const retries: number[] = [];
    const result = await model.stream({
      messages: [{ role: "user", content: "hi" }],
      onEvent: (event) => event.type === "retry" && retries.push(event.attempt),
    });
    expect(result.content).toBe("back");
    expect(retries).toEqual([1]);
  });
});

test("a conversation as Anthropic takes it: system joined, one call's results in one user turn, ids made safe, empty turns left out", () => {
  const { system, messages } = anthropicConversation([
    { role: "system", content: "one" },
    { role: "user", content: "go" },
    {
      role: "assistant",
      content: "",
      tool_calls: [
        { id: "call:1", type: "function", function: { name: "a", arguments: "{}" } },
        { id: "call:2", type: "function", function: { name: "b", arguments: "not json" } },
      ],
    },
    { role: "tool", tool_call_id: "call:1", content: "A" },
    { role: "tool", tool_call_id: "call:2", content: "B" },
    { role: "system", content: "two" },
    { role: "assistant", content: "" },
    { role: "user", content: "next" },
  ]);
  expect(system).toBe("one\n\ntwo");
  expect(messages).toEqual([
    { role: "user", content: [{ type: "text", text: "go" }] },
    {
      role: "assistant",
      content: [
        { type: "tool_use", id: "call_1", name: "a", input: {} },
        { type: "tool_use", id: "call_2", name: "b", input: {} },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_1", content: "A" },
        { type: "tool_result", tool_use_id: "call_2", content: "B" },
        { type: "text", text: "next" },
      ],
    },
  ]);
});
