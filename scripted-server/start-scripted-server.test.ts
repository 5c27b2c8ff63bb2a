import { afterAll, describe, expect, test } from "bun:test";
import type { ScriptInput } from "./script.ts";
import { startScriptedServer } from "./start-scripted-server.ts";

const servers: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function serve(script: ScriptInput) {
  const server = await startScriptedServer({ script });
  servers.push(server);
  return server;
}

const hi = [{ role: "user", content: "hi" }];

async function post(url: string, body: unknown, path = "/v1/chat/completions") {
  const response = await fetch(`${url}${path}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: response.status, contentType: response.headers.get("content-type"), text: await response.text() };
}

/** Streams a chat request and returns the SSE data payloads, ids and timestamps replaced by fixed values. */
async function streamed(url: string, body: Record<string, unknown>) {
  const { status, contentType, text } = await post(url, { stream: true, messages: hi, ...body });
  expect(status).toBe(200);
  expect(text.endsWith("\n\n")).toBe(true);
  const events = text
    .slice(0, -2)
    .split("\n\n")
    .map((frame) => {
      expect(frame.startsWith("data: ")).toBe(true);
      return frame.slice("data: ".length);
    });
  return { contentType, events, raw: text };
}

const normalize = (event: string) =>
  event
    .replace(/"id":"chatcmpl-\d+"/, '"id":"chatcmpl-412"')
    .replace(/"created":\d+/, '"created":1755800000')
    .replace(/"id":"call_[a-z0-9]{8}"/g, '"id":"call_abc"');

describe("Ollama wire formats, byte for byte", () => {
  test("ollama-new text with usage: role first only, finish on its own chunk, usage with choices []", async () => {
    const server = await serve({ models: ["llama3.2"], rules: [{ reply: { text: "Hello!", chunkSize: 3 } }] });
    const { contentType, events } = await streamed(server.url, { model: "llama3.2", stream_options: { include_usage: true } });
    expect(contentType).toBe("text/event-stream");
    const head = '{"id":"chatcmpl-412","object":"chat.completion.chunk","created":1755800000,"model":"llama3.2","system_fingerprint":"fp_ollama"';
    expect(events.map(normalize)).toEqual([
      `${head},"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
      `${head},"choices":[{"index":0,"delta":{"content":"lo!"},"finish_reason":null}]}`,
      `${head},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
      `${head},"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
      "[DONE]",
    ]);
    // One completion id and one created for the whole stream.
    expect(new Set(events.slice(0, -1).map((event) => JSON.parse(event).id)).size).toBe(1);
  });

  test("without include_usage there is no usage chunk and no usage key", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hi" } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    expect(events).toHaveLength(3);
    expect(events.some((event) => event.includes("usage"))).toBe(false);
  });

  test("ollama-new tool call: whole call in one chunk with id, index, type; content ''; finish tool_calls", async () => {
    const server = await serve({ rules: [{ reply: { toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    const head = '{"id":"chatcmpl-412","object":"chat.completion.chunk","created":1755800000,"model":"qwen3:8b","system_fingerprint":"fp_ollama"';
    expect(events.map(normalize)).toEqual([
      `${head},"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_abc","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},"finish_reason":null}]}`,
      `${head},"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
      "[DONE]",
    ]);
  });

  test("ollama-new thinking: reasoning chunks carry content '', then content", async () => {
    const server = await serve({ rules: [{ reply: { reasoning: "Okay, hi", text: "Hello", chunkSize: 4 } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    const deltas = events.slice(0, -1).map((event) => JSON.stringify(JSON.parse(event).choices[0].delta));
    expect(deltas).toEqual([
      '{"role":"assistant","content":"","reasoning":"Okay"}',
      '{"content":"","reasoning":", hi"}',
      '{"content":"Hell"}',
      '{"content":"o"}',
      "{}",
    ]);
  });

  test("ollama-old: role and content on every chunk, finish chunk with content ''", async () => {
    const server = await serve({ models: ["llama3.2"], rules: [{ reply: { text: "Hello!", chunkSize: 3, wire: "ollama-old" } }] });
    const { events } = await streamed(server.url, { model: "llama3.2", stream_options: { include_usage: true } });
    const head = '{"id":"chatcmpl-412","object":"chat.completion.chunk","created":1755800000,"model":"llama3.2","system_fingerprint":"fp_ollama"';
    expect(events.map(normalize)).toEqual([
      `${head},"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
      `${head},"choices":[{"index":0,"delta":{"role":"assistant","content":"lo!"},"finish_reason":null}]}`,
      `${head},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}`,
      `${head},"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
      "[DONE]",
    ]);
  });

  test("ollama-index-bug: several calls, each whole, all at index 0 with different ids", async () => {
    const calls = [
      { name: "sh", arguments: { command: "ls" } },
      { name: "sh", arguments: { command: "pwd" } },
    ];
    const server = await serve({ rules: [{ reply: { toolCalls: calls, wire: "ollama-index-bug" } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    const wireCalls = events.slice(0, 2).map((event) => JSON.parse(event).choices[0].delta.tool_calls[0]);
    expect(wireCalls.map((call) => call.index)).toEqual([0, 0]);
    expect(wireCalls[0].id).not.toBe(wireCalls[1].id);
    expect(wireCalls.map((call) => call.function.arguments)).toEqual(['{"command":"ls"}', '{"command":"pwd"}']);
  });

  test("Go's escapes: <, > and & travel as \\u003c, \\u003e, \\u0026, inside arguments too", async () => {
    const server = await serve({
      rules: [{ reply: { text: "<think>a & b</think>", chunkSize: 100, toolCalls: [{ name: "sh", arguments: { command: "a > b" } }] } }],
    });
    const { raw } = await streamed(server.url, { model: "qwen3:8b" });
    expect(raw).toContain('"content":"\\u003cthink\\u003ea \\u0026 b\\u003c/think\\u003e"');
    expect(raw).toContain('"arguments":"{\\"command\\":\\"a \\\\u003e b\\"}"');
    expect(raw).not.toMatch(/[<>&]/);
  });

  test("non-streamed: a chat.completion with usage, ending in a newline", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hi", toolCalls: [{ name: "sh", arguments: { command: "ls" } }] } }] });
    const { status, contentType, text } = await post(server.url, { model: "qwen3:8b", messages: hi });
    expect(status).toBe(200);
    expect(contentType).toBe("application/json; charset=utf-8");
    expect(text.endsWith("}\n")).toBe(true);
    const body = JSON.parse(text);
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "qwen3:8b",
      system_fingerprint: "fp_ollama",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Hi",
            tool_calls: [{ index: 0, type: "function", function: { name: "sh", arguments: '{"command":"ls"}' } }],
          },
          finish_reason: "tool_calls",
        },
      ],
    });
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });
});

describe("other servers' wire formats (OpenAI, llama.cpp, vLLM)", () => {
  test("openai: content null with calls, id/type/name only in the first fragment, usage null until the usage chunk", async () => {
    const server = await serve({
      rules: [{ reply: { toolCalls: [{ name: "get_weather", arguments: { city: "New York City" } }], wire: "openai", chunkSize: 6 } }],
    });
    const { contentType, events } = await streamed(server.url, { model: "qwen3:8b", stream_options: { include_usage: true } });
    expect(contentType).toBe("text/event-stream; charset=utf-8");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(Object.keys(chunks[0])).toEqual(["id", "object", "created", "model", "system_fingerprint", "choices", "usage"]);
    expect(chunks[0].choices[0]).toEqual({
      index: 0,
      delta: {
        role: "assistant",
        content: null,
        tool_calls: [
          { index: 0, id: chunks[0].choices[0].delta.tool_calls[0].id, type: "function", function: { name: "get_weather", arguments: "" } },
        ],
        refusal: null,
      },
      logprobs: null,
      finish_reason: null,
    });
    expect(chunks[0].choices[0].delta.tool_calls[0].id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    const fragments = chunks.slice(1, -2).map((chunk) => chunk.choices[0].delta.tool_calls[0]);
    for (const fragment of fragments) expect(Object.keys(fragment)).toEqual(["index", "function"]);
    expect(fragments.map((fragment) => fragment.function.arguments).join("")).toBe('{"city":"New York City"}');
    expect(fragments.length).toBeGreaterThan(2);
    expect(chunks.at(-2).choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" });
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.at(-1).usage.completion_tokens_details).toEqual({ reasoning_tokens: 0 });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  test("openai: text opens with a role chunk with content '' and refusal null; no Go escapes", async () => {
    const server = await serve({ rules: [{ reply: { text: "a<b", wire: "openai" } }] });
    const { events, raw } = await streamed(server.url, { model: "qwen3:8b" });
    expect(JSON.parse(events[0] as string).choices[0].delta).toEqual({ role: "assistant", content: "", refusal: null });
    expect(raw).toContain('"content":"a<b"');
  });

  test("vllm: role chunk, reasoning_content, tool id chatcmpl-tool-, finish chunk with content '' and stop_reason", async () => {
    const server = await serve({
      rules: [{ reply: { reasoning: "hm", text: "ok", toolCalls: [{ name: "sh", arguments: { command: "ls" } }], wire: "vllm" } }],
    });
    const { events } = await streamed(server.url, { model: "qwen3:8b", stream_options: { include_usage: true } });
    const choices = events.slice(0, -1).map((event) => JSON.parse(event).choices);
    expect(choices[0][0].delta).toEqual({ role: "assistant", content: "" });
    expect(choices[1][0].delta).toEqual({ reasoning_content: "hm" });
    expect(choices[2][0].delta).toEqual({ content: "ok" });
    expect(choices[3][0].delta.tool_calls[0]).toMatchObject({ type: "function", index: 0, function: { name: "sh" } });
    expect(choices[3][0].delta.tool_calls[0].id).toMatch(/^chatcmpl-tool-[0-9a-f]{32}$/);
    expect(choices.at(-2)[0]).toEqual({ index: 0, delta: { content: "" }, logprobs: null, finish_reason: "tool_calls", stop_reason: null });
    expect(choices.at(-1)).toEqual([]);
  });

  test("llamacpp: its key order, content null first, arguments '' with the name, timings on the last chunk", async () => {
    const server = await serve({ rules: [{ reply: { toolCalls: [{ name: "sh", arguments: { command: "ls" } }], wire: "llamacpp" } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(Object.keys(chunks[0])).toEqual(["choices", "created", "id", "model", "system_fingerprint", "object"]);
    expect(chunks[0].choices[0]).toEqual({ finish_reason: null, index: 0, delta: { role: "assistant", content: null } });
    expect(chunks[1].choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "sh", arguments: "" } });
    expect(chunks[1].choices[0].delta.tool_calls[0].id).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(chunks.at(-1).choices[0]).toEqual({ finish_reason: "tool_calls", index: 0, delta: {} });
    expect(chunks.at(-1).timings.predicted_n).toBeGreaterThan(0);
  });

  test("reasoningAs think writes <think> into the content; openai does so by default", async () => {
    const server = await serve({
      rules: [
        { when: { lastMessage: "^one$" }, reply: { reasoning: "r", text: "t", reasoningAs: "think", chunkSize: 100 } },
        { reply: { reasoning: "r", text: "t", wire: "openai", chunkSize: 100 } },
      ],
    });
    const first = await streamed(server.url, { model: "qwen3:8b", messages: [{ role: "user", content: "one" }] });
    expect(JSON.parse(first.events[0] as string).choices[0].delta.content).toBe("<think>r</think>\n\nt");
    const second = await streamed(server.url, { model: "qwen3:8b" });
    expect(JSON.parse(second.events[1] as string).choices[0].delta.content).toBe("<think>r</think>\n\nt");
  });
});

describe("rules", () => {
  const system = (name: string) => ({ role: "system", content: `You are ${name}, a helpful persona.` });
  const script: ScriptInput = {
    rules: [
      { when: { persona: "alice" }, reply: { text: "alice here" } },
      { when: { lastMessage: "weather in \\w+", times: 1 }, reply: { text: "first weather" } },
      { when: { lastMessage: "weather" }, reply: { text: "later weather" } },
      { when: { lastRole: "tool" }, reply: { text: "tool said: {{lastMessage}}" } },
      { when: { model: "other:1b" }, reply: { text: "other model" } },
    ],
    models: ["qwen3:8b", "other:1b"],
  };
  const reply = async (url: string, messages: unknown[], model = "qwen3:8b") => {
    const { text } = await post(url, { model, messages });
    return JSON.parse(text).choices[0].message.content as string;
  };

  test("persona matches a whole word in a system message, any case", async () => {
    const server = await serve(script);
    expect(await reply(server.url, [system("Alice"), { role: "user", content: "x" }])).toBe("alice here");
    expect(await reply(server.url, [system("Alicent"), { role: "user", content: "x" }])).toStartWith("[scripted server] no rule matched");
  });

  test("lastMessage is a case-insensitive regex; times limits a rule, then later rules answer", async () => {
    const server = await serve(script);
    expect(await reply(server.url, [{ role: "user", content: "WEATHER in Paris?" }])).toBe("first weather");
    expect(await reply(server.url, [{ role: "user", content: "weather in Rome?" }])).toBe("later weather");
  });

  test("lastRole and the {{lastMessage}} placeholder; model picks a rule", async () => {
    const server = await serve(script);
    const toolTurn = [
      { role: "user", content: "x" },
      { role: "tool", content: "42", tool_call_id: "c" },
    ];
    expect(await reply(server.url, toolTurn)).toBe("tool said: 42");
    expect(await reply(server.url, [{ role: "user", content: "x" }], "other:1b")).toBe("other model");
  });

  test("no match: the fallback answers; without one, a text quoting the last message", async () => {
    const bare = await serve({ rules: [] });
    expect(await reply(bare.url, [{ role: "user", content: "anything?" }])).toBe(
      '[scripted server] no rule matched the last message (user): "anything?"',
    );
    const withFallback = await serve({ rules: [], fallback: { text: "fallback" } });
    expect(await reply(withFallback.url, [{ role: "user", content: "x" }])).toBe("fallback");
  });

  test("requests are recorded with path, parsed body and what answered", async () => {
    const server = await serve(script);
    await reply(server.url, [{ role: "user", content: "weather in Oslo" }]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions", outcome: "200 rule 1" });
    expect((server.requests[0]?.body as { messages: unknown[] }).messages).toHaveLength(1);
    expect(server.requests[0]?.time).toBeNumber();
  });
});

describe("faults", () => {
  test("a status fault answers with Ollama's JSON error body before any stream", async () => {
    const server = await serve({ rules: [{ reply: { fault: { status: 503 } } }] });
    const { status, contentType, text } = await post(server.url, { model: "qwen3:8b", messages: hi, stream: true });
    expect(status).toBe(503);
    expect(contentType).toBe("application/json; charset=utf-8");
    expect(text).toBe(
      '{"error":{"message":"server busy, please try again.  maximum pending requests exceeded","type":"api_error","param":null,"code":null}}\n',
    );
  });

  test("cutAfterChunks on Ollama: the chunks, then the model:'' chunk, then EOF without finish or [DONE]", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hello world", chunkSize: 2, fault: { cutAfterChunks: 2 } } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    expect(events).toHaveLength(3);
    expect(events.slice(0, 2).map((event) => JSON.parse(event).choices[0].delta.content)).toEqual(["He", "ll"]);
    const last = JSON.parse(events[2] as string);
    expect(last.model).toBe("");
    expect(last.choices[0]).toEqual({ index: 0, delta: { content: "" }, finish_reason: null });
  });

  test("cutAfterChunks on openai: plain EOF after the chunks", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hello world", chunkSize: 2, wire: "openai", fault: { cutAfterChunks: 3 } } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    expect(events).toHaveLength(3);
    expect(events.join("")).not.toContain('finish_reason":"stop');
  });

  test("malformedAfterChunks inserts an event that is not JSON", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hello", chunkSize: 2, fault: { malformedAfterChunks: 1 } } }] });
    const { events } = await streamed(server.url, { model: "qwen3:8b" });
    expect(() => JSON.parse(events[1] as string)).toThrow();
    expect(JSON.parse(events[0] as string).choices[0].delta.content).toBe("He");
  });
});

describe("other endpoints", () => {
  const script: ScriptInput = { models: ["qwen3:8b", "nomic-embed-text:latest"], rules: [] };

  test("GET /v1/models and /v1/models/{id} list the script's models", async () => {
    const server = await serve(script);
    const list = (await (await fetch(`${server.url}/v1/models`)).json()) as {
      object: string;
      data: { id: string; object: string; owned_by: string }[];
    };
    expect(list.object).toBe("list");
    expect(list.data.map((model: { id: string; object: string; owned_by: string }) => [model.id, model.object, model.owned_by])).toEqual([
      ["qwen3:8b", "model", "library"],
      ["nomic-embed-text:latest", "model", "library"],
    ]);
    expect((await fetch(`${server.url}/v1/models/qwen3:8b`)).status).toBe(200);
    expect((await fetch(`${server.url}/v1/models/nope`)).status).toBe(404);
  });

  test("GET /api/tags in Ollama's shape", async () => {
    const server = await serve(script);
    const tags = (await (await fetch(`${server.url}/api/tags`)).json()) as { models: { name: string; digest: string }[] };
    expect(tags.models.map((model: { name: string }) => model.name)).toEqual(["qwen3:8b", "nomic-embed-text:latest"]);
    expect(tags.models[0]).toMatchObject({ model: "qwen3:8b", details: { format: "gguf" } });
    expect(tags.models[0]?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  test("POST /api/show says a served model calls tools, as org doctor asks it; an unknown one is Ollama's 404", async () => {
    const server = await serve(script);
    const shown = await post(server.url, { model: "qwen3:8b" }, "/api/show");
    expect(JSON.parse(shown.text)).toMatchObject({ capabilities: ["completion", "tools"], details: { format: "gguf" } });
    expect((await post(server.url, { name: "nomic-embed-text" }, "/api/show")).status).toBe(200);
    const missing = await post(server.url, { model: "nope" }, "/api/show");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error.message).toBe("model 'nope' not found");
  });

  test("POST /api/embed: deterministic, normalized, different texts differ; dimensions honoured", async () => {
    const server = await serve(script);
    const { text } = await post(server.url, { model: "nomic-embed-text", input: ["a cat", "a dog", "a cat"] }, "/api/embed");
    const body = JSON.parse(text);
    expect(body.model).toBe("nomic-embed-text");
    const [cat, dog, again] = body.embeddings as number[][];
    expect(cat).toHaveLength(768);
    expect(again).toEqual(cat as number[]);
    expect(dog).not.toEqual(cat as number[]);
    expect(Math.hypot(...(cat as number[]))).toBeCloseTo(1, 5);
    const small = JSON.parse((await post(server.url, { model: "m", input: "a cat", dimensions: 8 }, "/api/embed")).text);
    expect(small.embeddings[0]).toHaveLength(8);
    const openai = JSON.parse((await post(server.url, { model: "m", input: "a cat" }, "/v1/embeddings")).text);
    expect(openai.data[0].embedding).toEqual(cat as number[]);
    expect((await post(server.url, { model: "m", input: [1] }, "/api/embed")).status).toBe(400);
  });

  test("unknown model: 404 with Ollama's message and type", async () => {
    const server = await serve(script);
    const { status, text } = await post(server.url, { model: "llama9", messages: hi, stream: true });
    expect(status).toBe(404);
    expect(JSON.parse(text)).toEqual({
      error: { message: 'model "llama9" not found, try pulling it first', type: "not_found_error", param: null, code: null },
    });
  });

  test("bad requests: broken JSON, no model, no messages → 400 JSON errors", async () => {
    const server = await serve(script);
    const broken = await post(server.url, '{"model":');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.text).error.type).toBe("invalid_request_error");
    expect(JSON.parse((await post(server.url, { messages: hi })).text).error.message).toBe("model is required");
    expect(JSON.parse((await post(server.url, { model: "qwen3:8b", messages: [] })).text).error.message).toBe("[] is too short - 'messages'");
  });

  test("wrong method → 405 with Allow; unknown path → 404 page not found", async () => {
    const server = await serve(script);
    const wrong = await fetch(`${server.url}/v1/chat/completions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    const missing = await fetch(`${server.url}/v2/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("404 page not found");
  });

  test("the signal stops the server; stop() is idempotent", async () => {
    const controller = new AbortController();
    const server = await startScriptedServer({ script, signal: controller.signal });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await fetch(`${server.url}/api/tags`)).status).toBe(200);
    controller.abort();
    await server.stop();
    await server.stop();
    await expect(fetch(`${server.url}/api/tags`)).rejects.toThrow();
  });
});

describe("non-streamed replies of other servers", () => {
  test("openai: content null with calls, refusal null, arguments as a JSON string, no Go escapes", async () => {
    const server = await serve({ rules: [{ reply: { wire: "openai", toolCalls: [{ name: "sh", arguments: { command: "a<b" } }] } }] });
    const { text } = await post(server.url, { model: "qwen3:8b", messages: hi });
    const body = JSON.parse(text);
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0].message).toEqual({
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: [{ id: body.choices[0].message.tool_calls[0].id, type: "function", function: { name: "sh", arguments: '{"command":"a<b"}' } }],
    });
    expect(body.choices[0].finish_reason).toBe("tool_calls");
  });

  test("vllm: reasoning_content beside the content", async () => {
    const server = await serve({ rules: [{ reply: { wire: "vllm", reasoning: "r", text: "t" } }] });
    const body = JSON.parse((await post(server.url, { model: "qwen3:8b", messages: hi })).text);
    expect(body.choices[0].message).toEqual({ role: "assistant", content: "t", reasoning_content: "r" });
    expect(body.choices[0].finish_reason).toBe("stop");
  });
});

describe("what Ollama refuses before running a model", () => {
  const script: ScriptInput = { rules: [{ reply: { text: "ok" } }] };
  const refusal = async (url: string, body: Record<string, unknown>) => {
    const { status, text } = await post(url, { model: "qwen3:8b", ...body });
    return { status, message: JSON.parse(text).error?.message as string | undefined };
  };

  test("tool-call arguments in the history that are not JSON: 400 invalid tool call arguments", async () => {
    const server = await serve(script);
    const history = (args: string) => [
      { role: "user", content: "go" },
      { role: "assistant", content: "", tool_calls: [{ id: "c1", type: "function", function: { name: "sh", arguments: args } }] },
      { role: "tool", tool_call_id: "c1", content: "done" },
    ];
    // What the index bug does to a naive client: two argument objects glued together.
    expect(await refusal(server.url, { messages: history('{"a":1}{"b":2}') })).toEqual({ status: 400, message: "invalid tool call arguments" });
    expect((await refusal(server.url, { messages: history('{"a":1}') })).status).toBe(200);
  });

  test("content null without tool calls; a bad reasoning_effort", async () => {
    const server = await serve(script);
    expect(await refusal(server.url, { messages: [{ role: "user", content: null }] })).toEqual({
      status: 400,
      message: "invalid message content type: <nil>",
    });
    const effort = await refusal(server.url, { messages: hi, reasoning_effort: "turbo" });
    expect(effort.status).toBe(400);
    expect(effort.message).toStartWith('invalid reasoning value: "turbo"');
    expect((await refusal(server.url, { messages: hi, reasoning_effort: "none" })).status).toBe(200);
  });
});

describe("cut in the middle of an event", () => {
  test("cutAfterChunks with midEvent ends the body halfway through the next event", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hello world", chunkSize: 2, fault: { cutAfterChunks: 1, midEvent: true } } }] });
    const { text } = await post(server.url, { model: "qwen3:8b", messages: hi, stream: true });
    const [first, partial, ...rest] = text.split("\n\n");
    expect(JSON.parse((first as string).slice("data: ".length)).choices[0].delta.content).toBe("He");
    expect(partial).toStartWith('data: {"id":"chatcmpl-');
    expect(() => JSON.parse((partial as string).slice("data: ".length))).toThrow();
    expect(rest).toEqual([]);
  });
});
