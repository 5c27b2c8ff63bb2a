import { expect, test } from "bun:test";
import fc from "fast-check";
import { callArbitrary, cutInto, textArbitrary } from "../testing/stream-arbitraries.ts";
import { chatOnce } from "./chat-once.ts";
import { chatFailure } from "../testing/chat-helpers.ts";
import { startFrameServer } from "../testing/frame-server.ts";

// chat.property.test.ts's idea on Ollama's own stream: however the NDJSON bytes are cut into reads, the same reply
// comes out; a body cut anywhere before its `done` line is an interruption that keeps what came, never a wrong reply.

const replyArbitrary = fc.record({
  texts: fc.array(textArbitrary, { maxLength: 6 }),
  thinking: fc.array(textArbitrary, { maxLength: 3 }),
  calls: fc.array(callArbitrary, { maxLength: 3 }),
  callsInOneLine: fc.boolean(),
  crlf: fc.boolean(),
  cuts: fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 12 }),
});
type Reply = typeof replyArbitrary extends fc.Arbitrary<infer T> ? T : never;

function lines(reply: Reply): string[] {
  const line = (message: Record<string, unknown>, rest: Record<string, unknown> = { done: false }) =>
    JSON.stringify({ model: "m", created_at: "2026-11-29T09:00:00Z", message: { role: "assistant", content: "", ...message }, ...rest });
  const calls = reply.calls.map((call, index) => ({ id: `call_${index}`, function: { index, name: call.name, arguments: call.arguments } }));
  return [
    ...reply.thinking.map((text) => line({ thinking: text })),
    ...reply.texts.map((text) => line({ content: text })),
    ...(reply.callsInOneLine ? (calls.length > 0 ? [line({ tool_calls: calls })] : []) : calls.map((call) => line({ tool_calls: [call] }))),
    line({}, { done: true, done_reason: "stop", prompt_eval_count: 3, eval_count: 4 }),
  ];
}

const ask = (url: string) =>
  chatOnce({ baseUrl: url, model: "m", messages: [{ role: "user", content: "x" }], retry: { retries: 0 }, ollama: { numCtx: 4096 } });

test("the same reply comes out however Ollama's NDJSON is cut into reads", async () => {
  let reply: Reply | undefined;
  await using server = startFrameServer(() => {
    const generated = reply as Reply;
    const bytes = new TextEncoder().encode(
      lines(generated)
        .map((line) => `${line}${generated.crlf ? "\r\n" : "\n"}`)
        .join(""),
    );
    return { chunks: cutInto(bytes, generated.cuts) };
  });
  await fc.assert(
    fc.asyncProperty(replyArbitrary, async (generated) => {
      reply = generated;
      const result = await ask(server.url);
      expect(result.content).toBe(generated.texts.join(""));
      expect(result.reasoning).toBe(generated.thinking.join(""));
      expect(result.toolCalls).toEqual(generated.calls.map((call, position) => ({ id: `call_${position}`, ...call })));
      expect(result.finishReason).toBe(generated.calls.length > 0 ? "tool_calls" : "stop");
      expect(result.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
    }),
    { numRuns: 40 },
  );
  expect(server.requests.every((request) => request.path === "/api/chat")).toBe(true);
});

test("a body cut anywhere before its done line fails as interrupted, keeping a prefix of the text", async () => {
  let body = "";
  let cutAt = 0;
  await using server = startFrameServer(() => ({ chunks: [body.slice(0, cutAt)] }));
  await fc.assert(
    fc.asyncProperty(replyArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), async (generated, where) => {
      body = lines({ ...generated, crlf: false })
        .map((line) => `${line}\n`)
        .join("");
      // Anywhere before the end of the done line's JSON: the stream never said it was done.
      cutAt = Math.floor(where * (body.length - 2));
      const failure = await chatFailure(ask(server.url));
      expect(failure.kind).toBe("interrupted");
      expect(generated.texts.join("").startsWith(failure.partialContent ?? "")).toBe(true);
    }),
    { numRuns: 40 },
  );
});
