import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chatOnce } from "./chat-once.ts";
import { chatFailure } from "../testing/chat-helpers.ts";
import { startFrameServer } from "../testing/frame-server.ts";

// Anthropic's streams as its documentation shows them (anthropic-streams/), replayed through the reader: the reply,
// reasoning, calls, finish reason and usage org reads from each.
const stream = (name: string) => readFileSync(join(import.meta.dir, "anthropic-streams", name), "utf8");

const ask = (url: string) =>
  chatOnce({ baseUrl: url, model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }], retry: { retries: 0 }, anthropic: true });

describe("recorded Anthropic streams", () => {
  test("a text reply: its deltas joined, end_turn as stop, input and output tokens as usage; a ping says nothing", async () => {
    await using server = startFrameServer([{ chunks: [stream("text.sse")] }]);
    const result = await ask(server.url);
    expect(result).toMatchObject({ content: "Hello! How can I help?", reasoning: "", finishReason: "stop", toolCalls: [] });
    expect(result.usage).toEqual({ promptTokens: 25, completionTokens: 15 });
    expect(server.requests[0]?.path).toBe("/v1/messages");
  });

  test("thinking, text, then a tool_use block whose input comes in input_json_delta pieces", async () => {
    await using server = startFrameServer([{ chunks: [stream("tool-use.sse")] }]);
    const events: string[] = [];
    const result = await chatOnce({
      baseUrl: server.url,
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "weather?" }],
      retry: { retries: 0 },
      anthropic: true,
      onEvent: (event) => events.push(event.type),
    });
    expect(result.reasoning).toBe("The user wants the weather; I should call get_weather.");
    expect(result.content).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect(result.toolCalls).toEqual([
      { id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", arguments: { location: "San Francisco, CA", unit: "fahrenheit" } },
    ]);
    expect(result.finishReason).toBe("tool_calls");
    expect(result.usage).toEqual({ promptTokens: 472, completionTokens: 89 });
    expect(events).toContain("reasoning-delta");
    expect(events.at(-1)).toBe("finish");
  });

  test("an overloaded error mid-stream is a retryable failure that names its type and keeps the partial reply", async () => {
    await using server = startFrameServer([{ chunks: [stream("overloaded.sse")] }]);
    const failure = await chatFailure(ask(server.url));
    expect(failure.kind).toBe("http");
    expect(failure.status).toBe(529);
    expect(failure.retryable).toBe(true);
    expect(failure.message).toContain("overloaded_error");
    expect(failure.partialContent).toBe("Partly");
  });

  test("<think> in the text is reasoning, as on every other wire", async () => {
    const events = [
      { type: "message_start", message: { usage: { input_tokens: 3, output_tokens: 1 } } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "<think>hm</th" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "ink>answer" } },
      { type: "message_delta", delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 4 } },
      { type: "message_stop" },
    ];
    await using server = startFrameServer([{ chunks: events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`) }]);
    const result = await ask(server.url);
    expect(result).toMatchObject({ content: "answer", reasoning: "hm", finishReason: "length" });
  });
});
