import { describe, expect, test } from "bun:test";
import { chatOnce } from "../llm/chat-once.ts";
import { extractToolCalls } from "../llm/extract/extract-tool-calls.ts";
import { discoverWindow } from "../llm/discover-window.ts";
import { httpModel } from "../llm/http-model.ts";
import { NumCtxFloor } from "../llm/ollama-chat.ts";
import { chatFailure } from "../testing/chat-helpers.ts";
import { messageTokens, toolsTokens } from "./prompt-window.ts";
import type { ScriptInput } from "./script.ts";
import { startScriptedServer } from "./start-scripted-server.ts";

const script = {
  models: ["m"],
  rules: [
    { when: { lastMessage: "^call" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "ls <dir> & echo" } }], reasoning: "a listing" } },
    { reply: { text: "you said: {{lastMessage}}", chunkSize: 3 } },
  ],
};
const tools = [{ type: "function" as const, function: { name: "sh", description: "run a command", parameters: { type: "object", properties: {} } } }];
const system = { role: "system" as const, content: "You are agent, a persona in the room." };
const said = (text: string, count: number) => Array.from({ length: count }, (_, index) => ({ role: "user" as const, content: `${index} ${text}` }));

describe("the scripted server's window", () => {
  test("counts a prompt by its stated rule, reports it as usage, and refuses one over the window as vLLM does", async () => {
    await using server = await startScriptedServer({ script, contextTokens: 400 });
    const messages = [system, ...said("x".repeat(100), 3)];
    const fits = await chatOnce({ baseUrl: server.url, model: "m", messages, tools, retry: { retries: 0 } });
    const counted = messages.reduce((sum, message) => sum + messageTokens(message), 0) + toolsTokens(tools);
    expect(counted).toBe(14 + 3 * 30 + toolsTokens(tools));
    expect(fits.usage?.promptTokens).toBe(counted);
    expect(server.requests.at(-1)?.window).toEqual({ tokens: 400, promptTokens: counted, dropped: 0 });

    const over = await chatFailure(
      chatOnce({ baseUrl: server.url, model: "m", messages: [system, ...said("x".repeat(400), 5)], retry: { retries: 0 } }),
    );
    expect({ kind: over.kind, status: over.status }).toEqual({ kind: "context_overflow", status: 400 });
    expect(over.serverMessage).toMatch(
      /^This model's maximum context length is 400 tokens\. However, you requested \d+ tokens \(\d+ in the messages, 0 in the completion\)/,
    );
    expect(server.requests.at(-1)?.outcome).toBe("400 over the window");
  });

  test("with drop, the oldest messages go, the system prompt and the newest stay, and the reply answers from what is left", async () => {
    await using server = await startScriptedServer({ script, contextTokens: 300, contextOverflow: "drop" });
    const messages = [system, ...said("y".repeat(200), 6), { role: "user" as const, content: "the newest" }];
    const result = await chatOnce({ baseUrl: server.url, model: "m", messages, retry: { retries: 0 } });
    expect(result.content).toBe("you said: the newest");
    const window = server.requests.at(-1)?.window;
    expect(window?.dropped).toBeGreaterThan(0);
    expect(window?.promptTokens).toBeLessThanOrEqual(300);
    expect(result.usage?.promptTokens).toBe(window?.promptTokens);
  });

  test("says its window on /api/show, /api/ps, /props and /v1/models; discovery reads it as llama.cpp's, or as Ollama's (Ollama mode)", async () => {
    await using server = await startScriptedServer({ script, contextTokens: 2048 });
    const json = async (path: string, init?: RequestInit): Promise<unknown> => (await fetch(`${server.url}${path}`, init)).json();
    expect(await json("/api/show", { method: "POST", body: JSON.stringify({ model: "m" }) })).toMatchObject({
      parameters: expect.stringMatching(/^num_ctx\s+2048$/),
    });
    expect(await json("/api/ps")).toEqual({ models: [{ name: "m", model: "m", context_length: 2048 }] });
    expect(await json("/props")).toMatchObject({ default_generation_settings: { n_ctx: 2048 } });
    expect(await json("/v1/models")).toMatchObject({ data: [{ id: "m", max_model_len: 2048 }] });
    expect(await discoverWindow(server.url, "m", {})).toEqual({
      window: { tokens: 2048, source: "llama.cpp", detail: "n_ctx 2048 from /props" },
      ollamaChat: false,
    });

    await using ollama = await startScriptedServer({ script, contextTokens: 2048, ollama: true });
    const found = await discoverWindow(ollama.url, "m", {});
    expect(found.ollamaChat).toBe(true);
    expect(found.window).toMatchObject({ tokens: 2048, source: "ollama", trainedTokens: 2048 });
    expect((await discoverWindow(ollama.url, "m", { api: "openai" })).window.detail).toBe("context_length 2048 of the loaded model in /api/ps");
  });
});

describe("the Ollama mode", () => {
  test("org speaks /api/chat to it: num_ctx fits each request, within the model's window; text, reasoning, calls and usage arrive", async () => {
    await using server = await startScriptedServer({ script, contextTokens: 32768, ollama: true });
    // Loaded at its trained 32768 (/api/ps), the model could take that much; the setting caps what org asks.
    expect(await httpModel({ server: server.url, modelId: "m" }).window()).toMatchObject({ tokens: 32768, source: "ollama" });
    const model = httpModel({ server: server.url, modelId: "m", maxContextTokens: 8192 });
    expect(await model.window()).toEqual({
      tokens: 8192,
      source: "ollama",
      detail: "num_ctx set per request, up to maxContextTokens 8192",
      trainedTokens: 32768,
    });
    const numCtx = () => (server.requests.at(-1)?.body as { options: { num_ctx: number } }).options.num_ctx;
    for (const [size, expected] of [
      [100, 2048],
      [2500, 4096],
      [6000, 8192],
    ] as const) {
      const messages = [system, { role: "user" as const, content: "z".repeat(size * 4) }];
      const needed = messages.reduce((sum, message) => sum + messageTokens(message), 0);
      const result = await model.stream({ messages, contextTokens: needed + 500 });
      expect(server.requests.at(-1)?.path).toBe("/api/chat");
      expect({ size, numCtx: numCtx(), fits: numCtx() >= needed + 500 }).toEqual({ size, numCtx: expected, fits: true });
      expect(result.usage?.promptTokens).toBe(needed);
    }
    // A request that needs more than the window gets num_ctx at the window: the server refuses it as too long.
    const over = await chatFailure(model.stream({ messages: [system, { role: "user", content: "z".repeat(80_000) }], contextTokens: 20_500 }));
    expect({ kind: over.kind, status: over.status }).toEqual({ kind: "context_overflow", status: 400 });
    expect(numCtx()).toBe(8192);
    expect(server.requests.at(-1)?.outcome).toBe("400 over the window");

    const called = await model.stream({ messages: [system, { role: "user", content: "call it" }], tools, contextTokens: 1000 });
    expect(called.toolCalls).toEqual([{ id: expect.stringMatching(/^call_/), name: "sh", arguments: { cmd: "ls <dir> & echo" } }]);
    expect(called.reasoning).toBe("a listing");
    expect(called.finishReason).toBe("tool_calls");
    // Never less than this model was asked before: Ollama would reload it for a smaller num_ctx.
    expect(numCtx()).toBe(8192);
    // The call goes back as Ollama takes it: arguments as an object, the result named by its tool.
    const call = called.toolCalls[0];
    if (!call) throw new Error("no call");
    const next = await model.stream({
      messages: [
        system,
        { role: "user", content: "call it" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: call.id, type: "function", function: { name: "sh", arguments: JSON.stringify(call.arguments) } }],
        },
        { role: "tool", content: "a b c", tool_call_id: call.id },
      ],
    });
    expect(next.content).toBe("you said: a b c");
    const sent = (server.requests.at(-1)?.body as { messages: unknown[] }).messages;
    expect(sent.slice(2)).toEqual([
      { role: "assistant", content: "", tool_calls: [{ id: call.id, function: { name: "sh", arguments: { cmd: "ls <dir> & echo" } } }] },
      { role: "tool", content: "a b c", tool_call_id: call.id, tool_name: "sh" },
    ]);
  });

  test("on /api/chat as on SSE: calls written in the text, <think> in the content, a cut at stopAt, a cut stream", async () => {
    const rules: ScriptInput["rules"] = [
      {
        when: { lastMessage: "^embedded" },
        reply: { text: "Let me look. {{calls}}", toolCalls: [{ name: "sh", arguments: { cmd: "ls" } }], embedded: "hermes" },
      },
      { when: { lastMessage: "^think" }, reply: { text: "the answer", reasoning: "pondering", reasoningAs: "think", chunkSize: 2 } },
      { when: { lastMessage: "^cut" }, reply: { text: "abcdefghijklmnopqrstuvwxyz", chunkSize: 2, fault: { cutAfterChunks: 3 } } },
      { reply: { text: "0123456789".repeat(10), chunkSize: 4 } },
    ];
    await using server = await startScriptedServer({ script: { models: ["m"], rules }, ollama: true });
    const model = httpModel({ server: server.url, modelId: "m" });
    await model.window();
    const ask = (content: string, extra: { stopAt?: { chars: number } } = {}) =>
      model.stream({ messages: [{ role: "user", content }], tools, ...extra });

    const embedded = await ask("embedded please");
    expect(embedded.toolCalls).toEqual([]);
    expect(extractToolCalls(embedded.content, { toolNames: ["sh"] }).toolCalls).toMatchObject([{ name: "sh", arguments: { cmd: "ls" } }]);
    expect(await ask("think it over")).toMatchObject({ content: "the answer", reasoning: "pondering" });
    expect(await ask("a long one", { stopAt: { chars: 10 } })).toMatchObject({
      content: "0123456789",
      finishReason: "length",
      limitReached: expect.anything(),
    });
    const cut = await chatFailure(ask("cut it"));
    expect({ kind: cut.kind, partial: cut.partialContent }).toEqual({ kind: "interrupted", partial: "abcdef" });
    expect(server.requests.filter((request) => request.path === "/api/chat")).toHaveLength(4);
  });

  test("models made together share what num_ctx each model was asked, so two personas on one model never make Ollama reload it", async () => {
    await using server = await startScriptedServer({ script, contextTokens: 32_768, ollama: true });
    const numCtxFloor = new NumCtxFloor();
    const [agent, python] = [
      httpModel({ server: server.url, modelId: "m", numCtxFloor }),
      httpModel({ server: server.url, modelId: "m", numCtxFloor }),
    ];
    const alone = httpModel({ server: server.url, modelId: "m" });
    await Promise.all([agent.window(), python.window(), alone.window()]);
    const numCtx = () => (server.requests.at(-1)?.body as { options: { num_ctx: number } }).options.num_ctx;
    await agent.stream({ messages: [{ role: "user", content: "long" }], contextTokens: 12_000 });
    expect(numCtx()).toBe(16_384);
    await python.stream({ messages: [{ role: "user", content: "short" }], contextTokens: 900 });
    expect(numCtx()).toBe(16_384);
    await alone.stream({ messages: [{ role: "user", content: "short" }], contextTokens: 900 });
    expect(numCtx()).toBe(2048);
  });

  test("api openai keeps the OpenAI-compatible path on an Ollama server", async () => {
    await using server = await startScriptedServer({ script, ollama: true });
    const model = httpModel({ server: server.url, modelId: "m", api: "openai" });
    await model.window();
    expect((await model.stream({ messages: [{ role: "user", content: "hi" }] })).content).toBe("you said: hi");
    expect(server.requests.at(-1)?.path).toBe("/v1/chat/completions");
  });
});
