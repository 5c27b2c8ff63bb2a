import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { type LoopEvent, runWithTools } from "./run-with-tools.ts";
import { chatOnce } from "../llm/chat-once.ts";
import { Budget, BudgetExceededError } from "../security/budget.ts";
import { ToolTimeBudget } from "../security/tool-time-budget.ts";
import { startFrameServer, textReply, toolCallsReply } from "../testing/frame-server.ts";
import { chatFailure } from "../testing/chat-helpers.ts";
import { defineTool, toolSet } from "../tools/define-tool.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import { echoTool } from "../testing/echo-tool.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { httpModel } from "../llm/http-model.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-limits-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

const runs: string[] = [];
const echo = echoTool((text) => runs.push(text));
const slow = defineTool("slow", {
  description: "Pretends to run code for up to timeout_s seconds.",
  runsCode: true,
  parameters: z.object({ timeout_s: z.number().positive().max(600).optional() }),
  async execute() {
    runs.push("slow");
    return "ran";
  },
});

// Tool-call arguments here are always objects, so they go out as JSON.
const calls = (list: { name: string; arguments: Record<string, unknown> }[], usage?: unknown) => toolCallsReply(list, usage);
const text = textReply;

const sent = (request: { body: unknown } | undefined) => (request?.body as { messages: ChatMessage[] }).messages;

describe("limits a hostile server cannot switch off", () => {
  test("a negative usage does not lower the session's spending: the text is estimated and the budget still stops the next call", async () => {
    const budget = new Budget({ maxSessionTokens: 100 });
    await using server = startFrameServer([
      calls([{ name: "echo", arguments: { text: "x".repeat(600) } }], { prompt_tokens: -1_000_000, completion_tokens: -1_000_000 }),
      text("never sent"),
    ]);
    const attempt = runWithTools({
      model: httpModel({ server: server.url, modelId: "m", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "y".repeat(400) }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      budget,
    });
    await expect(attempt).rejects.toBeInstanceOf(BudgetExceededError);
    expect(server.requests).toHaveLength(1);
    expect(budget.tokensUsed).toBeGreaterThanOrEqual(100);
  });

  test("fractional, absurd or missing counts are estimated too; a believable count is taken as it is", async () => {
    for (const usage of [{ prompt_tokens: 0.5, completion_tokens: 3 }, { prompt_tokens: 1e300, completion_tokens: 1 }, { completion_tokens: "9" }]) {
      await using server = startFrameServer([text("four words of text", usage)]);
      const result = await chatOnce({ baseUrl: server.url, model: "m", messages: [{ role: "user", content: "hi" }], retry: { retries: 0 } });
      expect(result.usage).toBeUndefined();
    }
    await using server = startFrameServer([text("ok", { prompt_tokens: 12, completion_tokens: 3 })]);
    const result = await chatOnce({ baseUrl: server.url, model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(result.usage).toEqual({ promptTokens: 12, completionTokens: 3 });
  });

  test("1000 tool calls in one reply: 32 run, the model is told, and the console sees only one refused call", async () => {
    runs.length = 0;
    const many = Array.from({ length: 1000 }, (_, index) => ({ name: "echo", arguments: { text: `n${index}` } }));
    await using server = startFrameServer([calls(many), text("done")]);
    const events: LoopEvent[] = [];
    const result = await runWithTools({
      model: httpModel({ server: server.url, modelId: "m", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "go" }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      onEvent: (event) => events.push(event),
    });
    expect(result.stopReason).toBe("done");
    expect(runs).toHaveLength(32);
    expect(runs.at(-1)).toBe("n31");
    const toolMessages = sent(server.requests[1]).filter((message) => message.role === "tool");
    expect(toolMessages).toHaveLength(33);
    expect(toolMessages.at(-1)?.content).toContain("not run: a reply may make at most 32 tool calls");
    expect(toolMessages.at(-1)?.content).toContain("this call and 967 more were not run");
    expect(events.filter((event) => event.type === "tool-call")).toHaveLength(33);
    expect(events.find((event) => event.type === "calls-refused")).toMatchObject({ count: 968 });
  });

  test("the call limit counts across rounds of one reply and is configurable", async () => {
    runs.length = 0;
    const two = (round: number) => calls([0, 1].map((n) => ({ name: "echo", arguments: { text: `r${round}-${n}` } })));
    await using server = startFrameServer([two(1), two(2), text("done")]);
    await runWithTools({
      model: httpModel({ server: server.url, modelId: "m", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "go" }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      maxToolCalls: 3,
    });
    expect(runs).toEqual(["r1-0", "r1-1", "r2-0"]);
    expect(sent(server.requests[2]).at(-1)?.content).toContain("not run");
  });

  test("each call's timeout_s counts against the turn's tool time; when spent, calls are refused with a result saying so", async () => {
    runs.length = 0;
    const toolTime = new ToolTimeBudget(600);
    await using server = startFrameServer([
      calls([
        { name: "slow", arguments: { timeout_s: 300 } },
        { name: "slow", arguments: { timeout_s: 290 } },
        { name: "slow", arguments: {} },
        { name: "echo", arguments: { text: "free" } },
      ]),
      text("done"),
    ]);
    await runWithTools({
      model: httpModel({ server: server.url, modelId: "m", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "go" }],
      tools: toolSet([slow, echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      toolTime,
    });
    // The third call would take the default 30 s: 590 + 30 > 600. A tool that runs no code costs nothing.
    expect(runs).toEqual(["slow", "slow", "free"]);
    expect(toolTime.spentSeconds).toBe(590);
    const outputs = sent(server.requests[1])
      .filter((message) => message.role === "tool")
      .map((message) => message.content);
    expect(outputs[2]).toContain("tool time is spent (590 of 600 s");
    expect(outputs[2]).toContain("limits.toolSecondsPerTurn");
  });
});

describe("what a failing server says, made readable", () => {
  test("an HTML error page comes out as its status and title, not the page", async () => {
    const page = `<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head><body><h1>Bad Gateway</h1>${"<p>filler</p>".repeat(5000)}</body></html>`;
    await using server = startFrameServer([{ status: 502, headers: { "content-type": "text/html" }, chunks: [page] }]);
    const error = await chatFailure(
      chatOnce({ baseUrl: server.url, model: "m", messages: [{ role: "user", content: "hi" }], retry: { retries: 0 } }),
    );
    expect(error.message).toContain("HTTP 502: an HTML page: 502 Bad Gateway.");
    expect(error.message).not.toContain("<");
    expect(error.message.length).toBeLessThan(400);
  });

  test("an HTML page without a title shows its first text, cut short", async () => {
    const page = `<html><body><h1>Service &amp; stuff unavailable</h1><p>${"word ".repeat(2000)}</p></body></html>`;
    await using server = startFrameServer([{ status: 500, headers: { "content-type": "text/html" }, chunks: [page] }]);
    const error = await chatFailure(
      chatOnce({ baseUrl: server.url, model: "m", messages: [{ role: "user", content: "hi" }], retry: { retries: 0 } }),
    );
    expect(error.message).toContain("an HTML page: Service & stuff unavailable word word");
    expect(error.message.length).toBeLessThan(500);
  });

  test("a connection the server drops says so without Bun's advice to pass verbose: true", async () => {
    const dropper = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
    const port = (dropper.address() as { port: number }).port;
    try {
      const error = await chatFailure(
        chatOnce({ baseUrl: `http://127.0.0.1:${port}`, model: "m", messages: [{ role: "user", content: "hi" }], retry: { retries: 0 } }),
      );
      expect(error.kind).toBe("unreachable");
      expect(error.message).toContain("closed unexpectedly");
      expect(error.message).not.toContain("verbose");
    } finally {
      dropper.close();
    }
  });
});

describe("a reply's size (limits.replyChars) and the budget mid-stream", () => {
  const huge = (reply: Record<string, unknown>) =>
    startScriptedServer({ script: { rules: [{ when: { lastRole: "user" }, reply }], fallback: { text: "after" } }, port: 0 });

  test("a 1 MB stream is cut at maxReplyChars: the text is kept up to there, the loop says so, nothing more is asked", async () => {
    await using server = await huge({ text: "x".repeat(1_000_000), chunkSize: 65_536 });
    const events: LoopEvent[] = [];
    const result = await runWithTools({
      model: httpModel({ server: server.url, modelId: "qwen3:8b", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "talk" }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      maxReplyChars: 10_000,
      onEvent: (event) => events.push(event),
    });
    expect(result.content.length).toBe(10_000);
    expect(result.stopReason).toBe("reply-chars");
    expect(
      events.filter((event) => event.type === "text-delta").reduce((sum, event) => sum + (event.type === "text-delta" ? event.text.length : 0), 0),
    ).toBe(10_000);
    expect(events.find((event) => event.type === "loop-stop")).toMatchObject({ reason: "reply-chars" });
    expect(server.requests).toHaveLength(1);
  });

  test("a tool call whose arguments pass the limit is cut with the stream and never runs", async () => {
    runs.length = 0;
    await using server = await huge({ toolCalls: [{ name: "echo", arguments: { text: "y".repeat(500_000) } }], chunkSize: 65_536, wire: "openai" });
    const result = await runWithTools({
      model: httpModel({ server: server.url, modelId: "qwen3:8b", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "call" }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      maxReplyChars: 10_000,
    });
    expect(result.stopReason).toBe("reply-chars");
    expect(runs).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  test("the limit counts over the reply's rounds: a second large call passes it and does not run", async () => {
    runs.length = 0;
    const big = { toolCalls: [{ name: "echo", arguments: { text: "z".repeat(6000) } }], chunkSize: 1024, wire: "openai" as const };
    await using server = await startScriptedServer({ script: { rules: [{ reply: big }] }, port: 0 });
    const result = await runWithTools({
      model: httpModel({ server: server.url, modelId: "qwen3:8b", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "call twice" }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      maxReplyChars: 10_000,
    });
    expect(result.stopReason).toBe("reply-chars");
    expect(runs).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
  });

  test("the session's token budget crossed mid-stream stops the stream there, not after it", async () => {
    await using server = await huge({ text: "w".repeat(1_000_000), chunkSize: 4096, usage: false });
    const budget = new Budget({ maxSessionTokens: 1000 });
    const streamed: string[] = [];
    const attempt = runWithTools({
      model: httpModel({ server: server.url, modelId: "qwen3:8b", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "talk" }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir },
      budget,
      onEvent: (event) => event.type === "text-delta" && streamed.push(event.text),
    });
    await expect(attempt).rejects.toBeInstanceOf(BudgetExceededError);
    // About four characters a token: the stream stopped within one chunk of 4000 characters.
    expect(streamed.join("").length).toBeLessThanOrEqual(4000 + 4096);
    expect(budget.tokensUsed).toBeLessThan(3000);
  });
});
