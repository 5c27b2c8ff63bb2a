import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runWithTools } from "../../tool-loop/run-with-tools.ts";
import type { ChatMessage } from "../chat-types.ts";
import { type FrameReply, sseFrames, startFrameServer } from "../../testing/frame-server.ts";
import { toolSet } from "../../tools/define-tool.ts";
import { echoTool } from "../../testing/echo-tool.ts";
import { httpModel } from "../http-model.ts";
import { testSandboxAccess } from "../../testing/test-sandbox.ts";

// The extractor inside the real loop: a model that writes its call into the text, streamed in small
// deltas from a real socket, gets the tool run and its result back, whatever format it writes.

const workspaceDir = mkdtempSync(join(tmpdir(), "org-extract-loop-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));
const echo = echoTool();

function streamed(content: string): FrameReply {
  const deltas: unknown[] = [];
  for (let at = 0; at < content.length; at += 7) {
    deltas.push({ choices: [{ index: 0, delta: { role: "assistant", content: content.slice(at, at + 7) }, finish_reason: null }] });
  }
  return { chunks: sseFrames([...deltas, { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }]) };
}

async function loop(first: string) {
  const server = startFrameServer([streamed(first), streamed("ok")]);
  try {
    const result = await runWithTools({
      model: httpModel({ server: server.url, modelId: "local", retry: { retries: 0 } }),
      messages: [{ role: "user", content: "go" }],
      tools: toolSet([echo]),
      toolContext: { ...testSandboxAccess(), workspaceDir, persona: "agent", sessionId: "s1" },
    });
    return { result, sent: (server.requests[1]?.body as { messages: ChatMessage[] } | undefined)?.messages ?? [] };
  } finally {
    await server.stop();
  }
}

const formats: [string, string][] = [
  ["qwen3-coder XML", "<tool_call>\n<function=echo>\n<parameter=text>\nxml\n</parameter>\n</function>\n</tool_call>"],
  ["mistral v11", '[TOOL_CALLS]echo{"text": "xml"}'],
  ["llama JSON", '{"name": "echo", "parameters": {"text": "xml"}}'],
  ["pythonic", "[echo(text='xml')]"],
  ["hermes python dict", "<tool_call>{'name': 'echo', 'arguments': {'text': 'xml'}}</tool_call>"],
  ["fenced json", '```json\n{"name": "echo", "arguments": {"text": "xml"}}\n```'],
];

describe("runWithTools with calls written into the text", () => {
  for (const [format, call] of formats) {
    test(format, async () => {
      const { result, sent } = await loop(`Checking.\n${call}`);
      expect(result.content).toBe("ok");
      expect(result.rounds).toBe(2);
      expect(sent.at(-2)).toMatchObject({ role: "assistant", content: "Checking.\n" });
      expect(sent.at(-1)).toMatchObject({ role: "tool", name: "echo", content: "echo: xml" });
    });
  }

  test("a call to a tool the request did not declare is the answer's text", async () => {
    const text = 'Here: <tool_call>{"name": "rm", "arguments": {"path": "/"}}</tool_call>';
    const { result } = await loop(text);
    expect(result.rounds).toBe(1);
    expect(result.content).toBe(text);
  });
});
