import { describe, expect, test } from "bun:test";
import { chatOnce } from "./chat-once.ts";
import type { StreamEvent } from "./chat-types.ts";
import { chatFailure, collectChat } from "../testing/chat-helpers.ts";
import { sseFrames, startFrameServer } from "../testing/frame-server.ts";

const user = [{ role: "user" as const, content: "hi" }];

// Ollama ≥ v0.32.6: chunk shapes verbatim as its /v1/chat/completions streams them.
const ollamaNewText = [
  '{"id":"chatcmpl-412","object":"chat.completion.chunk","created":1755800000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}',
  '{"id":"chatcmpl-412","object":"chat.completion.chunk","created":1755800000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":"lo!"},"finish_reason":null}]}',
  '{"id":"chatcmpl-412","object":"chat.completion.chunk","created":1755800000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
  '{"id":"chatcmpl-412","object":"chat.completion.chunk","created":1755800000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":26,"completion_tokens":3,"total_tokens":29}}',
];

const collect = (url: string, extra: Partial<Parameters<typeof chatOnce>[0]> = {}) =>
  collectChat({ baseUrl: url, model: "llama3.2", messages: user, ...extra });
const failure = chatFailure;

describe("chatOnce wire formats", () => {
  test("Ollama new format: text, separate finish chunk, usage with choices []", async () => {
    await using server = startFrameServer([{ chunks: sseFrames(ollamaNewText) }]);
    const { result, events } = await collect(server.url);
    expect(result).toEqual({
      content: "Hello!",
      reasoning: "",
      finishReason: "stop",
      toolCalls: [],
      usage: { promptTokens: 26, completionTokens: 3 },
    });
    expect(events.map((event) => event.type)).toEqual(["response-start", "text-delta", "text-delta", "finish"]);
    const body = server.requests[0]?.body as Record<string, unknown>;
    expect(server.requests[0]?.path).toBe("/v1/chat/completions");
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.model).toBe("llama3.2");
  });

  test("Ollama old format: role and content on every chunk, finish with content ''", async () => {
    const frames = [
      { id: "chatcmpl-412", choices: [{ index: 0, delta: { role: "assistant", content: "Hel" }, finish_reason: null }] },
      { id: "chatcmpl-412", choices: [{ index: 0, delta: { role: "assistant", content: "lo!" }, finish_reason: null }] },
      { id: "chatcmpl-412", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }] },
      { id: "chatcmpl-412", choices: [], usage: { prompt_tokens: 26, completion_tokens: 3, total_tokens: 29 } },
    ];
    await using server = startFrameServer([{ chunks: sseFrames(frames) }]);
    const { result } = await collect(server.url);
    expect(result.content).toBe("Hello!");
    expect(result.finishReason).toBe("stop");
    expect(result.usage).toEqual({ promptTokens: 26, completionTokens: 3 });
  });

  test("Ollama thinking: delta.reasoning goes to reasoning, content stays clean", async () => {
    const frames = [
      { choices: [{ index: 0, delta: { role: "assistant", content: "", reasoning: "Okay" }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { content: "", reasoning: ", the user says hi" }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { content: "Hello" }, finish_reason: null }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
    ];
    await using server = startFrameServer([{ chunks: sseFrames(frames) }]);
    const { result, events } = await collect(server.url);
    expect(result.reasoning).toBe("Okay, the user says hi");
    expect(result.content).toBe("Hello");
    expect(events.filter((event) => event.type === "reasoning-delta")).toHaveLength(2);
  });

  test("Ollama whole tool call in one chunk, finish_reason tool_calls", async () => {
    const frames = [
      '{"id":"chatcmpl-87","object":"chat.completion.chunk","created":1755800000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_abc","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},"finish_reason":null}]}',
      '{"id":"chatcmpl-87","object":"chat.completion.chunk","created":1755800000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
    ];
    await using server = startFrameServer([{ chunks: sseFrames(frames) }]);
    const { result, events } = await collect(server.url);
    expect(result.toolCalls).toEqual([{ id: "call_abc", name: "get_weather", arguments: { city: "Paris" } }]);
    expect(result.finishReason).toBe("tool_calls");
    expect(events.filter((event) => event.type === "tool-call")).toHaveLength(1);
  });

  test("Ollama index bug: several whole calls all at index 0 with different ids stay separate", async () => {
    const call = (id: string, city: string) => ({
      choices: [
        {
          index: 0,
          delta: {
            content: "",
            tool_calls: [{ id, index: 0, type: "function", function: { name: "get_weather", arguments: JSON.stringify({ city }) } }],
          },
          finish_reason: null,
        },
      ],
    });
    const frames = [call("call_aaaa1111", "Paris"), call("call_bbbb2222", "Rome"), call("call_cccc3333", "Oslo")];
    frames.push({ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] } as never);
    await using server = startFrameServer([{ chunks: sseFrames(frames) }]);
    const { result } = await collect(server.url);
    expect(result.toolCalls.map((toolCall) => [toolCall.id, toolCall.arguments.city])).toEqual([
      ["call_aaaa1111", "Paris"],
      ["call_bbbb2222", "Rome"],
      ["call_cccc3333", "Oslo"],
    ]);
  });

  test("OpenAI argument fragments keyed by index, two parallel calls, content null", async () => {
    const base = { id: "chatcmpl-x", object: "chat.completion.chunk", created: 1, model: "gpt-4o" };
    const toolDelta = (call: Record<string, unknown>) => ({
      ...base,
      choices: [{ index: 0, delta: { tool_calls: [call] }, logprobs: null, finish_reason: null }],
      usage: null,
    });
    const frames = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: null, refusal: null }, finish_reason: null }], usage: null },
      toolDelta({ index: 0, id: "call_JMW1", type: "function", function: { name: "GetWeatherArgs", arguments: "" } }),
      ...['{"ci', 'ty": ', '"Edinb', "urgh", '", "country": "U', 'K"}'].map((piece) => toolDelta({ index: 0, function: { arguments: piece } })),
      toolDelta({ index: 1, id: "call_DNYT", type: "function", function: { name: "get_stock_price", arguments: "" } }),
      ...['{"ti', 'cker"', ': "AAP', 'L", "note": "a \\"q', 'uote\\" \\u00e9"}'].map((piece) =>
        toolDelta({ index: 1, function: { arguments: piece } }),
      ),
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" }], usage: null },
      { ...base, choices: [], usage: { prompt_tokens: 44, completion_tokens: 16, total_tokens: 60 } },
    ];
    await using server = startFrameServer([{ chunks: sseFrames(frames) }]);
    const { result } = await collect(server.url);
    expect(result.toolCalls).toEqual([
      { id: "call_JMW1", name: "GetWeatherArgs", arguments: { city: "Edinburgh", country: "UK" } },
      { id: "call_DNYT", name: "get_stock_price", arguments: { ticker: "AAPL", note: 'a "quote" é' } },
    ]);
    expect(result.content).toBe("");
    expect(result.usage).toEqual({ promptTokens: 44, completionTokens: 16 });
  });

  test("llama.cpp: reasoning_content, content null first, fragments, usage with choices null (vLLM)", async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      choices: [{ finish_reason: finish, index: 0, delta }],
      created: 1,
      id: "chatcmpl-abc",
      model: "m",
      system_fingerprint: "b1",
      object: "chat.completion.chunk",
    });
    const frames = [
      chunk({ role: "assistant", content: null }),
      chunk({ reasoning_content: "Let me list." }),
      chunk({ content: "Listing." }),
      chunk({ tool_calls: [{ index: 0, id: "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", type: "function", function: { name: "sh", arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"cmd":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"ls -la"}' } }] }),
      chunk({}, "tool_calls"),
      { choices: null, usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } },
    ];
    await using server = startFrameServer([{ chunks: sseFrames(frames) }]);
    const { result } = await collect(server.url);
    expect(result.reasoning).toBe("Let me list.");
    expect(result.content).toBe("Listing.");
    expect(result.toolCalls).toEqual([{ id: "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", name: "sh", arguments: { cmd: "ls -la" } }]);
    expect(result.usage).toEqual({ promptTokens: 10, completionTokens: 5 });
  });

  test("CRLF framing, comment lines and several events in one write", async () => {
    const frames = sseFrames(ollamaNewText, { lineEnd: "\r\n" });
    await using server = startFrameServer([{ chunks: [": keep-alive\r\n\r\n", frames[0] as string, frames.slice(1).join("")] }]);
    const { result } = await collect(server.url);
    expect(result.content).toBe("Hello!");
    expect(result.usage?.completionTokens).toBe(3);
  });

  test("UTF-8 characters split across reads and Go's \\u003c escapes", async () => {
    const text = sseFrames([
      '{"choices":[{"index":0,"delta":{"content":"\\u003cb\\u003e café 日本 🎉 \\u0026"},"finish_reason":null}]}',
      '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    ]).join("");
    const bytes = new TextEncoder().encode(text);
    // One byte per read: every multi-byte character is split.
    const pieces = Array.from(bytes, (byte) => new Uint8Array([byte]));
    await using server = startFrameServer([{ chunks: pieces }]);
    const { result } = await collect(server.url);
    expect(result.content).toBe("<b> café 日本 🎉 &");
  });

  test("<think> written into content is moved to reasoning, even split across deltas", async () => {
    const deltas = ["<thi", "nk>I should", " greet.</th", "ink>\n", "\n", "Hi <b>there</b>\n\nBye"];
    const frames = deltas.map((content) => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] }));
    frames.push({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] } as never);
    await using server = startFrameServer([{ chunks: sseFrames(frames) }]);
    const { result } = await collect(server.url);
    expect(result.reasoning).toBe("I should greet.");
    // The blank lines after </think> go with the thinking; those inside the answer stay.
    expect(result.content).toBe("Hi <b>there</b>\n\nBye");
  });

  test("a <think> tag in an event read off the stream's template is split out too", async () => {
    // After the first event every event here fits its template: their text is read without JSON.parse.
    const deltas = ["Hello.", " <think>", "a plan", "</think>", "The answer."];
    const frames = deltas.map((content) => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] }));
    await using server = startFrameServer([{ chunks: [sseFrames(frames).join("")] }]);
    const { result } = await collect(server.url);
    expect(result.reasoning).toBe("a plan");
    expect(result.content).toBe("Hello. The answer.");
  });
});

describe("chatOnce errors", () => {
  test("404 for the model says it is not found and how to list models", async () => {
    const body = '{"error":{"message":"model \'nope\' not found","type":"not_found_error","param":null,"code":null}}\n';
    await using server = startFrameServer([{ status: 404, headers: { "content-type": "application/json" }, chunks: [body] }]);
    const error = await failure(collect(server.url, { model: "nope" }));
    expect(error.kind).toBe("model-not-found");
    expect(error.status).toBe(404);
    expect(error.message).toContain("model 'nope' not found");
    expect(error.message).toContain("ollama list");
  });

  test("a plain-text 404 points at OLLAMA_BASE", async () => {
    await using server = startFrameServer([{ status: 404, headers: { "content-type": "text/plain" }, chunks: ["404 page not found"] }]);
    const error = await failure(collect(server.url));
    expect(error.kind).toBe("http");
    expect(error.message).toContain("OLLAMA_BASE");
  });

  test("an HTTP error with stream:true rejects with status and the server's message, no retry for 400", async () => {
    const body =
      '{"error":{"message":"registry.ollama.ai/library/qwen:4b does not support tools","type":"invalid_request_error","param":null,"code":null}}';
    await using server = startFrameServer([{ status: 400, headers: { "content-type": "application/json" }, chunks: [body] }]);
    const error = await failure(collect(server.url, { retry: { retries: 3, baseDelayMs: 1 } }));
    expect(error.status).toBe(400);
    expect(error.serverMessage).toBe("registry.ollama.ai/library/qwen:4b does not support tools");
    expect(server.requests).toHaveLength(1);
  });

  test("a server's refusal of a prompt over its window is context_overflow, llama.cpp's and vLLM's alike; another 400 is not", async () => {
    const refusals = [
      JSON.stringify({
        error: {
          code: 400,
          message: "the request exceeds the available context size, try increasing it",
          type: "exceed_context_size_error",
          n_prompt_tokens: 5000,
          n_ctx: 4096,
        },
      }),
      JSON.stringify({
        object: "error",
        message:
          "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (5000 in the messages, 0 in the " +
          "completion). Please reduce the length of the messages or completion.",
        type: "BadRequestError",
        param: null,
        code: 400,
      }),
    ];
    for (const body of refusals) {
      await using server = startFrameServer([{ status: 400, headers: { "content-type": "application/json" }, chunks: [body] }]);
      const error = await failure(collect(server.url, { retry: { retries: 3, baseDelayMs: 1 } }));
      expect({ kind: error.kind, retryable: error.retryable, asked: server.requests.length }).toEqual({
        kind: "context_overflow",
        retryable: false,
        asked: 1,
      });
      expect(error.message).toContain("contextTokens");
    }
    await using other = startFrameServer([
      { status: 400, headers: { "content-type": "application/json" }, chunks: ['{"error":"invalid tool call arguments"}'] },
    ]);
    expect((await failure(collect(other.url))).kind).toBe("http");
  });

  test("connection refused says no server is there and how to start one", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const url = `http://127.0.0.1:${probe.port}`;
    await probe.stop(true);
    const events: StreamEvent[] = [];
    const error = await failure(
      chatOnce({ baseUrl: url, model: "m", messages: user, retry: { retries: 2, baseDelayMs: 1 }, onEvent: (event) => events.push(event) }),
    );
    expect(error.kind).toBe("unreachable");
    expect(error.message).toContain(url);
    expect(error.message).toContain("ollama serve");
    expect(events.filter((event) => event.type === "retry")).toHaveLength(2);
  });

  test("503 and 429 are retried with backoff before the first byte", async () => {
    const busy =
      '{"error":{"message":"server busy, please try again.  maximum pending requests exceeded","type":"api_error","param":null,"code":null}}';
    await using server = startFrameServer([
      { status: 503, headers: { "content-type": "application/json" }, chunks: [busy] },
      { status: 429, headers: { "content-type": "application/json", "retry-after-ms": "5" }, chunks: ["{}"] },
      { chunks: sseFrames(ollamaNewText) },
    ]);
    const { result, events } = await collect(server.url, { retry: { retries: 2, baseDelayMs: 1 } });
    expect(result.content).toBe("Hello!");
    expect(server.requests).toHaveLength(3);
    expect(events.filter((event) => event.type === "retry").map((event) => event.type === "retry" && event.attempt)).toEqual([1, 2]);
  });

  test("an abort during the backoff before a retry stops at once: no second request, rejected as aborted", async () => {
    await using server = startFrameServer([{ status: 503, headers: { "content-type": "application/json" }, chunks: ["{}"] }]);
    const controller = new AbortController();
    const error = await failure(
      chatOnce({
        baseUrl: server.url,
        model: "m",
        messages: user,
        // A ten-minute backoff: only the abort can end this wait within the test's timeout.
        retry: { retries: 2, baseDelayMs: 600_000 },
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === "retry") controller.abort(new Error("user pressed Ctrl-C"));
        },
      }),
    );
    expect(error.kind).toBe("aborted");
    expect(error.message).toContain("Ctrl-C");
    expect(server.requests).toHaveLength(1);
  });

  test("a stream cut mid-way is not retried and keeps the partial content", async () => {
    await using server = startFrameServer([{ chunks: sseFrames(ollamaNewText.slice(0, 2), { done: false }) }]);
    const error = await failure(collect(server.url, { retry: { retries: 3, baseDelayMs: 1 } }));
    expect(error.kind).toBe("interrupted");
    expect(error.partialContent).toBe("Hello!");
    expect(server.requests).toHaveLength(1);
  });

  test("Ollama's silent mid-stream error (a model:'' chunk, then EOF) rejects as interrupted", async () => {
    const frames = [
      ollamaNewText[0] as string,
      '{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}',
    ];
    await using server = startFrameServer([{ chunks: sseFrames(frames, { done: false }) }]);
    const error = await failure(collect(server.url));
    expect(error.kind).toBe("interrupted");
    expect(error.partialContent).toBe("Hel");
    expect(error.message).toContain("without a finish reason");
  });

  test("a stream cut in the middle of an event rejects as interrupted", async () => {
    const frames = sseFrames(ollamaNewText.slice(0, 1), { done: false });
    await using server = startFrameServer([{ chunks: [...frames, 'data: {"choices":[{"index":0,"delta":{"content":"lo'] }]);
    const error = await failure(collect(server.url));
    expect(error.kind).toBe("interrupted");
    expect(error.partialContent).toBe("Hel");
  });

  test("a malformed event is reported, not swallowed", async () => {
    await using server = startFrameServer([{ chunks: sseFrames([ollamaNewText[0] as string, "{not json", ollamaNewText[2] as string]) }]);
    const error = await failure(collect(server.url));
    expect(error.kind).toBe("malformed-event");
    expect(error.message).toContain("{not json");
    expect(error.partialContent).toBe("Hel");
  });

  test("an error object inside the stream rejects with its message", async () => {
    await using server = startFrameServer([{ chunks: sseFrames([ollamaNewText[0] as string, '{"error":{"message":"out of memory"}}']) }]);
    const error = await failure(collect(server.url));
    expect(error.message).toContain("out of memory");
    expect(error.partialContent).toBe("Hel");
  });

  test("abort during a slow first byte rejects as aborted without waiting for the server", async () => {
    // The server holds its answer until the client has given up: a client that waited would never finish.
    const { promise: clientDone, resolve: releaseServer } = Promise.withResolvers<void>();
    const { promise: requestArrived, resolve: requested } = Promise.withResolvers<void>();
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch() {
        requested();
        await clientDone;
        return new Response(sseFrames(ollamaNewText).join(""), { headers: { "content-type": "text/event-stream" } });
      },
    });
    try {
      const controller = new AbortController();
      const pending = failure(collect(`http://127.0.0.1:${server.port}`, { signal: controller.signal }));
      await requestArrived;
      controller.abort(new Error("user pressed Ctrl-C"));
      const error = await pending;
      expect(error.kind).toBe("aborted");
      expect(error.message).toContain("Ctrl-C");
    } finally {
      releaseServer();
      await server.stop(true);
    }
  });

  test("a slow first byte is waited for (no fetch timeout)", async () => {
    await using server = startFrameServer([{ firstByteDelayMs: 300, chunks: sseFrames(ollamaNewText) }]);
    const { result } = await collect(server.url);
    expect(result.content).toBe("Hello!");
  });
});
