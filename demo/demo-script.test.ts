import { expect, test } from "bun:test";
import { chatOnce } from "../llm/chat-once.ts";
import type { ChatMessage, ToolDefinition } from "../llm/chat-types.ts";
import { scriptFiles } from "../scripted-server/bundled-scripts.ts";
import { loadScript, mergeScripts } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";

const offered = (name: string): ToolDefinition => ({ type: "function", function: { name, description: name, parameters: { type: "object" } } });

// After `tool new --promote` of word_count, every request offers word_count: the agent's answer to the result of any
// other call once was word_count's line ("counts 4 words"). It answers a word_count result alone.
test("the demo's agent answers word_count's line only after a word_count result, not after every tool call once it is offered", async () => {
  const script = mergeScripts(await Promise.all(scriptFiles("demo").map((file) => loadScript(file))));
  await using server = await startScriptedServer({ script });
  const after = async (name: string, output: string) => {
    const messages: ChatMessage[] = [
      { role: "system", content: "You are agent, an engineer working in the user's workspace." },
      { role: "user", content: "Hi all! Have a look around the sandbox." },
      { role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name, arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_1", content: output },
    ];
    const reply = await chatOnce({ baseUrl: server.url, model: "scripted", messages, tools: [offered("sh"), offered("word_count")] });
    return reply.content;
  };
  expect(await after("sh", "exit code: 0\nstdout:\nLinux x86_64")).toContain("I run shell commands in this sandbox");
  expect(await after("word_count", '{"words":4}')).toBe("word_count, the tool the toolsmith built and the gate promoted, counts 4 words in it.");
});
