import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { Budget, BudgetExceededError } from "../security/budget.ts";
import { type LoopEvent, runWithTools } from "./run-with-tools.ts";
import type { CompletionRequest } from "../llm/language-model.ts";
import { type ScriptedReply, scriptedModel } from "../llm/scripted-model.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { defineTool, toolSet } from "../tools/define-tool.ts";
import { echoTool } from "../testing/echo-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-loop-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

const echo = echoTool();
const explode = defineTool("explode", {
  description: "Always throws.",
  parameters: z.object({}),
  async execute() {
    throw new Error("disk on fire");
  },
});
const tools = toolSet([echo, explode]);

// The loop runs on the in-memory model: the wire is chatOnce's, tested over the scripted server (chat.scripted.test.ts).
const wholeCall = (name: string, args: Record<string, unknown> | string, id = `call_${name}`): ScriptedReply => ({
  toolCalls: [{ id, name, arguments: args }],
  usage: { promptTokens: 10, completionTokens: 5 },
});
const text = (content: string): ScriptedReply => ({ text: content, usage: { promptTokens: 20, completionTokens: 7 } });

async function loop(replies: ScriptedReply[], extra: Partial<Parameters<typeof runWithTools>[0]> = {}) {
  const model = scriptedModel(replies, { modelId: "qwen3:8b" });
  const events: LoopEvent[] = [];
  const result = await runWithTools({
    model,
    messages: [{ role: "user", content: "go" }],
    tools,
    toolContext: { ...testSandboxAccess(), workspaceDir, persona: "agent", sessionId: "s1" },
    onEvent: (event) => events.push(event),
    ...extra,
  });
  return { result, events, requests: model.requests };
}

const sentMessages = (request: CompletionRequest | undefined) => request?.messages ?? [];

describe("runWithTools", () => {
  test("runs a native call, appends the result as a tool message, and returns the final answer", async () => {
    const { result, events, requests } = await loop([wholeCall("echo", { text: "hi" }), text("Done: hi")]);
    expect(result.stopReason).toBe("done");
    expect(result.content).toBe("Done: hi");
    expect(result.rounds).toBe(2);
    expect(result.usage).toEqual({ promptTokens: 30, completionTokens: 12 });
    expect(result.messages.map((message) => message.role)).toEqual(["assistant", "tool", "assistant"]);
    const second = sentMessages(requests[1]);
    expect(second.at(-2)).toMatchObject({
      role: "assistant",
      tool_calls: [{ id: "call_echo", function: { name: "echo", arguments: '{"text":"hi"}' } }],
    });
    expect(second.at(-1)).toEqual({ role: "tool", tool_call_id: "call_echo", name: "echo", content: "echo: hi" });
    const toolResult = events.find((event) => event.type === "tool-result");
    expect(toolResult).toMatchObject({ type: "tool-result", result: { ok: true, output: "echo: hi" } });
    expect(requests[0]?.tools?.map((tool) => tool.function.name)).toEqual(["echo", "explode"]);
  });

  test("runs a call the model wrote into its text, and keeps the prose", async () => {
    const embedded = 'Let me echo.<tool_call>{"name": "echo", "arguments": {"text": "from text"}}</tool_call>';
    const { result, requests } = await loop([text(embedded), text("ok")]);
    expect(result.content).toBe("ok");
    const second = sentMessages(requests[1]);
    expect(second.at(-2)).toMatchObject({ role: "assistant", content: "Let me echo." });
    expect(second.at(-1)).toMatchObject({ role: "tool", content: "echo: from text" });
  });

  test("an unknown tool, bad arguments and a throwing tool come back as results; the loop goes on", async () => {
    const { result, requests } = await loop([
      wholeCall("nope", {}),
      wholeCall("echo", { text: 42 }),
      wholeCall("explode", {}),
      wholeCall("echo", "{not json"),
      text("recovered"),
    ]);
    expect(result.content).toBe("recovered");
    const toolOutputs = sentMessages(requests[4])
      .filter((message) => message.role === "tool")
      .map((message) => message.content);
    expect(toolOutputs[0]).toContain('there is no tool named "nope"');
    expect(toolOutputs[0]).toContain("echo, explode");
    expect(toolOutputs[1]).toContain("invalid arguments for echo");
    expect(toolOutputs[1]).toContain("text");
    expect(toolOutputs[2]).toContain("explode failed: disk on fire");
    expect(toolOutputs[3]).toContain("not valid JSON");
  });

  test("tools are looked up by own name: __proto__ and constructor find nothing", async () => {
    const { requests } = await loop([wholeCall("__proto__", {}), wholeCall("constructor", {}), text("fine")]);
    const outputs = sentMessages(requests[2]).filter((message) => message.role === "tool");
    expect(outputs.map((message) => message.content)).toEqual([
      expect.stringContaining('no tool named "__proto__"'),
      expect.stringContaining('no tool named "constructor"'),
    ]);
  });

  test("the same call three times in a row stops the loop with a message", async () => {
    const { result, events, requests } = await loop([wholeCall("echo", { text: "again" })]);
    expect(result.stopReason).toBe("repeated-call");
    expect(requests).toHaveLength(3);
    expect(events.find((event) => event.type === "loop-stop")).toMatchObject({ reason: "repeated-call" });
  });

  test("the round bound stops a model that never stops calling", async () => {
    let n = 0;
    const model = scriptedModel(() => wholeCall("echo", { text: `n${n++}` }));
    const result = await runWithTools({
      model,
      messages: [{ role: "user", content: "go" }],
      tools,
      toolContext: { ...testSandboxAccess(), workspaceDir },
      maxRounds: 4,
    });
    expect(result.stopReason).toBe("max-rounds");
    expect(model.requests).toHaveLength(4);
  });

  test("a denied approval gives the model a refusal instead of running the tool", async () => {
    const asked: string[] = [];
    const { requests } = await loop([wholeCall("echo", { text: "secret plan" }), text("ok")], {
      approve: async (call) => {
        asked.push(call.name);
        return false;
      },
    });
    expect(asked).toEqual(["echo"]);
    expect(sentMessages(requests[1]).at(-1)?.content).toContain("the user denied the echo call");
  });

  test("the approver sees the arguments as execute gets them: unknown keys dropped, whole; invalid ones are not asked about", async () => {
    const asked: unknown[] = [];
    const executed: unknown[] = [];
    const recorder = defineTool("echo", {
      description: "Echoes its text back.",
      parameters: z.object({ text: z.string(), loud: z.boolean().default(false) }),
      async execute(args) {
        executed.push(args);
        return "ok";
      },
    });
    const long = `${"echo harmless; ".repeat(24)}rm -rf /scratch/*`;
    await loop([wholeCall("echo", { padding: "x".repeat(400), text: long }), wholeCall("echo", { text: 7 }, "call_2"), text("done")], {
      tools: toolSet([recorder]),
      approve: async (call) => {
        asked.push(call.arguments);
        return true;
      },
    });
    expect(asked).toEqual([{ text: long, loud: false }]);
    expect(executed).toEqual(asked);
  });

  test("the tool time shown counts the run only, not the wait for approval", async () => {
    let approvedAt = 0;
    let resultAt = 0;
    let shown: number | undefined;
    await loop([wholeCall("echo", { text: "hi" }), text("ok")], {
      approve: async () => {
        await Bun.sleep(300);
        approvedAt = performance.now();
        return true;
      },
      onEvent: (event) => {
        if (event.type !== "tool-result") return;
        resultAt = performance.now();
        shown = event.durationMs;
      },
    });
    // Whatever the machine's speed, the time shown fits between the approval and the result.
    expect(shown).toBeDefined();
    expect(shown as number).toBeLessThanOrEqual(Math.ceil(resultAt - approvedAt));
  });

  test("the budget is checked before each LLM call: a spent budget sends no request", async () => {
    const budget = new Budget({ maxSessionTokens: 10 });
    const model = scriptedModel([wholeCall("echo", { text: "x" }), text("never")]);
    const attempt = runWithTools({
      model,
      messages: [{ role: "user", content: "go" }],
      tools,
      toolContext: { ...testSandboxAccess(), workspaceDir },
      budget,
    });
    await expect(attempt).rejects.toBeInstanceOf(BudgetExceededError);
    expect(model.requests).toHaveLength(1);
    expect(budget.tokensUsed).toBe(15);
  });

  test("tool runs are audited with redacted arguments", async () => {
    const entries: AuditEntry[] = [];
    const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    await loop([wholeCall("echo", { text: secret }), text("ok")], {
      toolContext: { ...testSandboxAccess(), workspaceDir, persona: "agent", sessionId: "s9", audit: { record: (entry) => entries.push(entry) } },
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ tool: "echo", persona: "agent", sessionId: "s9", ok: true });
    expect(JSON.stringify(entries[0])).not.toContain(secret);
  });
});

test("a tool's time counts its run only, not the time the room spent deciding on its workspace change", async () => {
  let clock = 1_000;
  const edits = defineTool("edits", {
    description: "Changes the workspace and hands the change to the room.",
    parameters: z.object({}),
    needs: ["workspaceWrite"],
    async execute(_args, context) {
      clock += 7;
      const answer = await context.workspaceWrite({ paths: ["a.txt"], changeSet: () => ({ changes: [] }), conflicts: () => [] });
      clock += 5;
      return `the room said: ${answer}`;
    },
  });
  const model = scriptedModel([wholeCall("edits", {}), text("done")]);
  const events: LoopEvent[] = [];
  await runWithTools({
    model,
    messages: [{ role: "user", content: "go" }],
    tools: toolSet([edits]),
    // The user takes ten seconds over the change's question.
    toolContext: {
      ...testSandboxAccess(),
      workspaceDir,
      workspaceWrite: async () => {
        clock += 10_000;
        return "applied";
      },
    },
    // A slow approval of the call itself is left out as well.
    approve: async () => {
      clock += 3_000;
      return true;
    },
    onEvent: (event) => events.push(event),
    now: () => clock,
  });
  const result = events.find((event) => event.type === "tool-result");
  expect(result).toMatchObject({ type: "tool-result", result: { ok: true, output: "the room said: applied" }, durationMs: 12 });
});
