// chatOnce and runWithTools against the real scripted model server over 127.0.0.1: every case of issue 2,
// item 2, as the server sends it. Frame-level edge cases (CRLF, split UTF-8, comment lines) live in chat.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LoopEvent, runWithTools } from "./run-with-tools.ts";
import { chatOnce } from "../llm/chat-once.ts";
import type { StreamEvent } from "../llm/chat-types.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { chatFailure, collectChat } from "../testing/chat-helpers.ts";
import { toolSet } from "../tools/define-tool.ts";
import { sh } from "../tools/sh.ts";
import { httpModel } from "../llm/http-model.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const servers: { stop(): Promise<void> }[] = [];
const workspaceDir = mkdtempSync(join(tmpdir(), "org-chat-scripted-"));
// The sandbox drops to another uid, which must be able to reach the scratch directory inside.
chmodSync(workspaceDir, 0o755);
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(workspaceDir, { recursive: true, force: true });
});

async function serve(script: ScriptInput) {
  const server = await startScriptedServer({ script });
  servers.push(server);
  return server;
}

const user = (content: string) => [{ role: "user" as const, content }];

const ask = (url: string, extra: Partial<Parameters<typeof chatOnce>[0]> = {}) =>
  collectChat({ baseUrl: url, model: "qwen3:8b", messages: user("hi"), ...extra });
const failure = chatFailure;

const calls = [
  { name: "get_weather", arguments: { city: "Paris", note: "<b> & \u2028" } },
  { name: "sh", arguments: { cmd: "ls -la", timeout_s: 5 } },
];

describe("chatOnce reads every wire format from the scripted server", () => {
  for (const wire of ["ollama-new", "ollama-old", "openai", "vllm", "llamacpp"] as const) {
    test(`${wire}: reasoning, text and two tool calls (fragments of ${3} characters where the server fragments)`, async () => {
      const server = await serve({
        rules: [{ reply: { wire, reasoning: "Let me think.", text: "Sure — calling tools <now>.", toolCalls: calls, chunkSize: 3 } }],
      });
      const { result, events } = await ask(server.url);
      expect(result.reasoning).toBe("Let me think.");
      // OpenAI carries reasoning as <think>…</think>\n\n in the content; the blank lines are dropped with it.
      expect(result.content).toBe("Sure — calling tools <now>.");
      expect(result.toolCalls.map(({ name, arguments: args }) => ({ name, arguments: args }))).toEqual(calls);
      expect(new Set(result.toolCalls.map((call) => call.id)).size).toBe(2);
      expect(result.finishReason).toBe("tool_calls");
      expect(result.usage?.completionTokens).toBeGreaterThan(0);
      expect(events.filter((event) => event.type === "text-delta").length).toBeGreaterThan(3);
      expect(events.filter((event) => event.type === "tool-call")).toHaveLength(2);
      expect(events.at(-1)).toMatchObject({ type: "finish", finishReason: "tool_calls" });
    });
  }

  test("ollama-index-bug: several whole calls all at index 0 stay separate calls", async () => {
    const [weather, shell] = calls as [(typeof calls)[0], (typeof calls)[1]];
    const server = await serve({ rules: [{ reply: { wire: "ollama-index-bug", toolCalls: [weather, shell, weather] } }] });
    const { result } = await ask(server.url);
    expect(result.toolCalls.map((call) => call.name)).toEqual(["get_weather", "sh", "get_weather"]);
    expect(result.toolCalls[1]?.arguments).toEqual(calls[1]?.arguments as Record<string, unknown>);
  });

  test("reasoning (Ollama) and reasoning_content (vLLM, llama.cpp) both land in reasoning", async () => {
    for (const wire of ["ollama-new", "vllm", "llamacpp"] as const) {
      const server = await serve({ rules: [{ reply: { wire, reasoning: "thinking hard", text: "answer", chunkSize: 2 } }] });
      const { result, events } = await ask(server.url);
      expect({ wire, reasoning: result.reasoning, content: result.content }).toEqual({ wire, reasoning: "thinking hard", content: "answer" });
      expect(events.filter((event) => event.type === "reasoning-delta").length).toBeGreaterThan(1);
    }
  });

  test("<think> written into the content (split across chunks) moves to reasoning", async () => {
    const server = await serve({ rules: [{ reply: { reasoning: "private thought", reasoningAs: "think", text: "public answer", chunkSize: 4 } }] });
    const { result } = await ask(server.url);
    expect(result.reasoning).toBe("private thought");
    expect(result.content.trim()).toBe("public answer");
  });

  test("content: null with only tool calls (OpenAI, llama.cpp) gives empty content and the call", async () => {
    for (const wire of ["openai", "llamacpp"] as const) {
      const server = await serve({ rules: [{ reply: { wire, toolCalls: [calls[0] as (typeof calls)[number]] } }] });
      const { result } = await ask(server.url);
      expect(result.content).toBe("");
      expect(result.toolCalls.map((call) => call.name)).toEqual(["get_weather"]);
    }
  });

  test("the usage chunk (choices: []) gives usage; without it there is none", async () => {
    const server = await serve({
      rules: [{ when: { lastMessage: "no usage" }, reply: { text: "x", usage: false } }, { reply: { text: "12345678" } }],
    });
    const withUsage = await ask(server.url, { messages: user("abcdefgh") });
    expect(withUsage.result.usage).toEqual({ promptTokens: 2, completionTokens: 2 });
    const body = server.requests[0]?.body as { stream_options?: unknown };
    expect(body.stream_options).toEqual({ include_usage: true });
    const without = await ask(server.url, { messages: user("no usage") });
    expect(without.result.usage).toBeUndefined();
    expect(without.result.content).toBe("x");
  });

  test("a non-default model from the script's list is served", async () => {
    const server = await serve({ models: ["llama3.2:latest"], rules: [{ reply: { text: "hi" } }] });
    const { result } = await ask(server.url, { model: "llama3.2" });
    expect(result.content).toBe("hi");
  });
});

describe("chatOnce errors against the scripted server", () => {
  test("404 for an unknown model: model-not-found, saying how to list models", async () => {
    const server = await serve({ rules: [] });
    const error = await failure(ask(server.url, { model: "llama9:70b" }));
    expect(error.kind).toBe("model-not-found");
    expect(error.status).toBe(404);
    expect(error.serverMessage).toBe('model "llama9:70b" not found, try pulling it first');
    expect(error.message).toContain("/v1/models");
  });

  test("500 rejects with the status and the server's message, not retried", async () => {
    const server = await serve({ rules: [{ reply: { fault: { status: 500, message: "llama runner process has terminated" } } }] });
    const error = await failure(ask(server.url, { retry: { retries: 2, baseDelayMs: 1 } }));
    expect(error.kind).toBe("http");
    expect(error.status).toBe(500);
    expect(error.serverMessage).toBe("llama runner process has terminated");
    expect(server.requests).toHaveLength(1);
  });

  test("503 before the first byte is retried with backoff, then the reply arrives", async () => {
    const server = await serve({ rules: [{ when: { times: 2 }, reply: { fault: { status: 503 } } }, { reply: { text: "finally" } }] });
    const { result, events } = await ask(server.url, { retry: { retries: 3, baseDelayMs: 1 } });
    expect(result.content).toBe("finally");
    expect(server.requests).toHaveLength(3);
    expect(events.filter((event) => event.type === "retry")).toHaveLength(2);
  });

  test("429 is retried, and rejects with status 429 once the retries are spent", async () => {
    const server = await serve({ rules: [{ reply: { fault: { status: 429 } } }] });
    const error = await failure(ask(server.url, { retry: { retries: 2, baseDelayMs: 1 } }));
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(server.requests).toHaveLength(3);
  });

  test("connection refused: unreachable, saying no server is there and how to start one", async () => {
    const server = await startScriptedServer({ script: { rules: [] } });
    await server.stop();
    const error = await failure(ask(server.url));
    expect(error.kind).toBe("unreachable");
    expect(error.message).toContain(server.url);
    expect(error.message).toContain("ollama serve");
  });

  test("a stream cut mid-way (Ollama's silent error) rejects as interrupted and keeps the partial content", async () => {
    for (const wire of ["ollama-new", "ollama-old", "openai", "llamacpp"] as const) {
      const server = await serve({ rules: [{ reply: { wire, text: "The answer is forty-two.", chunkSize: 4, fault: { cutAfterChunks: 4 } } }] });
      const error = await failure(ask(server.url, { retry: { retries: 2, baseDelayMs: 1 } }));
      expect({ wire, kind: error.kind }).toEqual({ wire, kind: "interrupted" });
      expect(error.partialContent.length).toBeGreaterThan(0);
      expect("The answer is forty-two.".startsWith(error.partialContent)).toBe(true);
      expect(server.requests).toHaveLength(1);
    }
  });

  test("invariant 9: a connection dropped right after the partial text (a crashing server) keeps that text", async () => {
    for (const wire of ["ollama-new", "openai"] as const) {
      const server = await serve({
        rules: [{ reply: { wire, text: "Partial answer before the crash", chunkSize: 7, fault: { cutAfterChunks: 4, reset: true } } }],
      });
      const error = await failure(ask(server.url, { retry: { retries: 0 } }));
      expect({ wire, kind: error.kind }).toEqual({ wire, kind: "interrupted" });
      expect({ wire, partial: error.partialContent }).toEqual({
        wire,
        partial: wire === "openai" ? "Partial answer before" : "Partial answer before the cr",
      });
      expect(error.message).toContain("the partial reply is kept");
    }
  });

  test("invariant 9: bytes that arrive together with the connection's close are read before the break is told", async () => {
    const frame = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "Partial answer before" }, finish_reason: null }] })}\n\n`;
    const head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
    // One write and the close: the chunked body never gets its end.
    const cutter = createServer((socket) => socket.once("data", () => socket.end(`${head}${Buffer.byteLength(frame).toString(16)}\r\n${frame}\r\n`)));
    await new Promise<void>((resolve) => cutter.listen(0, "127.0.0.1", resolve));
    try {
      const error = await failure(ask(`http://127.0.0.1:${(cutter.address() as { port: number }).port}`, { retry: { retries: 0 } }));
      expect(error.kind).toBe("interrupted");
      expect(error.partialContent).toBe("Partial answer before");
    } finally {
      cutter.close();
    }
  });

  test("a connection that ends in the middle of an event rejects as interrupted, keeping what came before", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hello there", chunkSize: 5, fault: { cutAfterChunks: 1, midEvent: true } } }] });
    const error = await failure(ask(server.url));
    expect(error.kind).toBe("interrupted");
    expect(error.partialContent).toBe("Hello");
  });

  test("the client's tool history is valid JSON, so Ollama's 'invalid tool call arguments' check passes", async () => {
    const server = await serve({
      rules: [
        {
          when: { lastRole: "user" },
          reply: {
            wire: "ollama-index-bug",
            toolCalls: [
              { name: "sh", arguments: { cmd: "echo a" } },
              { name: "sh", arguments: { cmd: "echo b" } },
            ],
          },
        },
        { when: { lastRole: "tool" }, reply: { text: "both ran" } },
      ],
    });
    const result = await runWithTools({
      model: httpModel({ server: server.url, modelId: "qwen3:8b", retry: { retries: 0 } }),
      messages: user("run two"),
      tools: toolSet([sh]),
      toolContext: { ...testSandboxAccess(), workspaceDir, sessionId: "index-bug-history" },
    });
    expect(result.content).toBe("both ran");
    expect(server.requests.map((request) => request.outcome)).toEqual(["200 rule 0", "200 rule 1"]);
  });

  test("a malformed event is reported as malformed-event, with the partial content", async () => {
    const server = await serve({ rules: [{ reply: { text: "Hello there", chunkSize: 5, fault: { malformedAfterChunks: 1 } } }] });
    const error = await failure(ask(server.url));
    expect(error.kind).toBe("malformed-event");
    expect(error.message).toContain("not valid JSON");
    expect(error.partialContent).toBe("Hello");
  });

  test("a slow first byte (a cold model load) is waited for", async () => {
    const server = await serve({ rules: [{ reply: { text: "loaded", firstByteDelayMs: 300 } }] });
    const { result } = await ask(server.url);
    expect(result.content).toBe("loaded");
  });

  test("abort through the signal mid-stream rejects as aborted and keeps what streamed", async () => {
    const server = await serve({ rules: [{ reply: { text: "a long reply that streams slowly", chunkSize: 2, delayMs: 20 } }] });
    const controller = new AbortController();
    const events: StreamEvent[] = [];
    const error = await failure(
      chatOnce({
        baseUrl: server.url,
        model: "qwen3:8b",
        messages: user("hi"),
        signal: controller.signal,
        onEvent: (event) => {
          events.push(event);
          if (events.filter((seen) => seen.type === "text-delta").length === 2) controller.abort(new Error("user pressed Esc"));
        },
      }),
    );
    expect(error.kind).toBe("aborted");
    expect(error.message).toContain("user pressed Esc");
    expect(error.partialContent).toBe("a lo");
  });
});

describe("runWithTools runs calls the model wrote into its text, with the real sh tool", () => {
  const tools = toolSet([sh]);
  for (const embedded of ["hermes", "mistral", "json", "pythonic", "qwen-xml"] as const) {
    test(`${embedded}: the call runs in the sandbox and its output goes back to the model`, async () => {
      const server = await serve({
        rules: [
          {
            when: { lastRole: "user" },
            reply: { text: "Let me look.", toolCalls: [{ name: "sh", arguments: { cmd: "echo sandboxed-$((6*7))" } }], embedded },
          },
          { when: { lastRole: "tool" }, reply: { text: "The tool said: {{lastMessage}}" } },
        ],
      });
      const events: LoopEvent[] = [];
      const result = await runWithTools({
        model: httpModel({ server: server.url, modelId: "qwen3:8b", retry: { retries: 0 } }),
        messages: user("what does the shell say?"),
        tools,
        toolContext: { ...testSandboxAccess(), workspaceDir, sessionId: `embedded-${embedded}` },
        onEvent: (event) => events.push(event),
      });
      expect(result.stopReason).toBe("done");
      expect(result.rounds).toBe(2);
      expect(result.messages.map((message) => message.role)).toEqual(["assistant", "tool", "assistant"]);
      expect(result.messages[0]?.content?.trim()).toBe("Let me look.");
      const toolMessage = result.messages[1];
      expect(toolMessage?.content).toContain("sandboxed-42");
      expect(result.content).toContain("sandboxed-42");
      const sent = server.requests[1]?.body as { messages: { role: string; content: string }[] };
      expect(sent.messages.at(-1)).toMatchObject({ role: "tool", name: "sh" });
      expect(events.some((event) => event.type === "tool-result" && event.result.ok)).toBe(true);
    });
  }
});
