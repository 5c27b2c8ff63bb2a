import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scriptedModel } from "../llm/scripted-model.ts";
import { TokenEstimator } from "../llm/token-estimate.ts";
import { echoTool } from "../testing/echo-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { z } from "zod";
import { defineTool, toolSet } from "../tools/define-tool.ts";
import { type LoopEvent, type LoopWindow, runWithTools } from "./run-with-tools.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-loop-window-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

test("a tool result that would overflow the window reaches the model cut, with a note on how to get the rest; the room gets it whole", async () => {
  const long = "line of output\n".repeat(2000);
  const log = defineTool("log", { description: "Prints the log.", parameters: z.object({}), execute: async () => long });
  const tools = toolSet([echoTool(), log]);
  const estimator = new TokenEstimator();
  const window: LoopWindow = {
    tokens: 1024,
    reserve: 256,
    tokensOf: (messages) => estimator.messagesTokens("m", messages, 0),
    charsIn: (tokens) => tokens * estimator.charsPerToken("m"),
  };
  const model = scriptedModel([{ toolCalls: [{ id: "c1", name: "log", arguments: {} }] }, { text: "read it" }], { modelId: "m" });
  const events: LoopEvent[] = [];
  const result = await runWithTools({
    model,
    messages: [{ role: "user", content: "print the log" }],
    tools,
    toolContext: { ...testSandboxAccess(), workspaceDir, persona: "agent", sessionId: "s1" },
    onEvent: (event) => events.push(event),
    window,
  });
  expect(result.content).toBe("read it");
  const second = model.requests[1];
  const toolMessage = second?.messages.at(-1);
  expect(toolMessage?.role).toBe("tool");
  expect(toolMessage?.content).toStartWith("line of output");
  expect(toolMessage?.content).toContain("[cut: this result is");
  expect(toolMessage?.content).toContain("Call log again with a narrower request");
  expect(window.tokensOf(second?.messages ?? [])).toBeLessThanOrEqual(window.tokens - window.reserve);
  // Each request says the window it needs, never more than the model's.
  for (const request of model.requests) expect(request.contextTokens).toBeLessThanOrEqual(window.tokens);
  const whole = events.find((event) => event.type === "tool-result");
  expect(whole?.type === "tool-result" && whole.result.output.length).toBe(long.length);
  // A result that fits is left as it is.
  const short = scriptedModel([{ toolCalls: [{ id: "c2", name: "echo", arguments: { text: "hi" } }] }, { text: "ok" }], { modelId: "m" });
  await runWithTools({
    model: short,
    messages: [{ role: "user", content: "say hi" }],
    tools,
    toolContext: { ...testSandboxAccess(), workspaceDir, persona: "agent", sessionId: "s1" },
    window,
  });
  expect(short.requests[1]?.messages.at(-1)?.content).toBe("echo: hi");
});
