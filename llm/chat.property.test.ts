import { expect, test } from "bun:test";
import fc from "fast-check";
import { callArbitrary, cutInto, textArbitrary } from "../testing/stream-arbitraries.ts";
import { chatOnce } from "./chat-once.ts";
import { sseFrames, startFrameServer } from "../testing/frame-server.ts";

// Whatever way the bytes of a stream are cut into reads, and whichever server style frames the tool
// calls, chatOnce must assemble the same reply.

const replyArbitrary = fc.record({
  texts: fc.array(textArbitrary, { maxLength: 6 }),
  reasoning: fc.array(textArbitrary, { maxLength: 3 }),
  calls: fc.array(callArbitrary, { maxLength: 3 }),
  style: fc.constantFrom("ollama-whole", "ollama-index-bug", "openai-fragments"),
  fragmentSize: fc.integer({ min: 1, max: 7 }),
  cuts: fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 12 }),
});

type Reply = typeof replyArbitrary extends fc.Arbitrary<infer T> ? T : never;

function frames(reply: Reply): unknown[] {
  const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({ choices: [{ index: 0, delta, finish_reason: finish }] });
  const events: unknown[] = [choice({ role: "assistant", content: "" })];
  for (const text of reply.reasoning) events.push(choice({ reasoning: text }));
  for (const text of reply.texts) events.push(choice({ content: text }));
  reply.calls.forEach((call, position) => {
    const id = `call_${position}`;
    const args = JSON.stringify(call.arguments);
    if (reply.style === "openai-fragments") {
      events.push(choice({ tool_calls: [{ index: position, id, type: "function", function: { name: call.name, arguments: "" } }] }));
      for (let at = 0; at < args.length; at += reply.fragmentSize) {
        events.push(choice({ tool_calls: [{ index: position, function: { arguments: args.slice(at, at + reply.fragmentSize) } }] }));
      }
    } else {
      const index = reply.style === "ollama-index-bug" ? 0 : position;
      events.push(choice({ content: "", tool_calls: [{ id, index, type: "function", function: { name: call.name, arguments: args } }] }));
    }
  });
  events.push(choice({}, reply.calls.length > 0 ? "tool_calls" : "stop"));
  events.push({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } });
  return events;
}

test("the same reply comes out however the stream is framed and cut", async () => {
  let reply: Reply | undefined;
  await using server = startFrameServer(() => {
    const bytes = new TextEncoder().encode(sseFrames(frames(reply as Reply)).join(""));
    return { chunks: cutInto(bytes, (reply as Reply).cuts) };
  });
  await fc.assert(
    fc.asyncProperty(replyArbitrary, async (generated) => {
      reply = generated;
      const result = await chatOnce({ baseUrl: server.url, model: "m", messages: [{ role: "user", content: "x" }], retry: { retries: 0 } });
      expect(result.content).toBe(generated.texts.join(""));
      expect(result.reasoning).toBe(generated.reasoning.join(""));
      expect(result.toolCalls).toEqual(generated.calls.map((call, position) => ({ id: `call_${position}`, ...call })));
      expect(result.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
    }),
    { numRuns: 60 },
  );
});
