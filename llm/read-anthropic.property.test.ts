import { expect, test } from "bun:test";
import fc from "fast-check";
import { callArbitrary, cutInto, textArbitrary } from "../testing/stream-arbitraries.ts";
import { chatOnce } from "./chat-once.ts";
import { chatFailure } from "../testing/chat-helpers.ts";
import { startFrameServer } from "../testing/frame-server.ts";

// read-ndjson.property.test.ts's idea on Anthropic's Messages stream: however the SSE bytes are cut into reads, the
// same reply comes out; a body cut anywhere before `message_delta` (the stop reason) is said is an interruption that
// keeps what came. (A stream that said its stop reason is whole without `message_stop`, as SSE is without [DONE].)

// A call whose arguments stream in `pieces` input_json_delta events.
const streamedCallArbitrary = fc.tuple(callArbitrary, fc.integer({ min: 1, max: 4 })).map(([call, pieces]) => ({ ...call, pieces }));
const replyArbitrary = fc.record({
  texts: fc.array(textArbitrary, { maxLength: 6 }),
  thinking: fc.array(textArbitrary, { maxLength: 3 }),
  calls: fc.array(streamedCallArbitrary, { maxLength: 3 }),
  pings: fc.boolean(),
  cuts: fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 12 }),
});
type Reply = typeof replyArbitrary extends fc.Arbitrary<infer T> ? T : never;

function splitInto(text: string, count: number): string[] {
  const size = Math.ceil(text.length / count) || 1;
  const parts: string[] = [];
  for (let at = 0; at < text.length; at += size) parts.push(text.slice(at, at + size));
  return parts;
}

function events(reply: Reply): string {
  const list: Record<string, unknown>[] = [{ type: "message_start", message: { id: "msg_1", usage: { input_tokens: 3, output_tokens: 1 } } }];
  let index = 0;
  const block = (start: Record<string, unknown>, deltas: Record<string, unknown>[]) => {
    list.push({ type: "content_block_start", index, content_block: start });
    for (const delta of deltas) list.push({ type: "content_block_delta", index, delta });
    list.push({ type: "content_block_stop", index });
    if (reply.pings) list.push({ type: "ping" });
    index += 1;
  };
  if (reply.thinking.length > 0)
    block(
      { type: "thinking", thinking: "" },
      reply.thinking.map((thinking) => ({ type: "thinking_delta", thinking })),
    );
  if (reply.texts.length > 0)
    block(
      { type: "text", text: "" },
      reply.texts.map((text) => ({ type: "text_delta", text })),
    );
  for (const [position, call] of reply.calls.entries())
    block(
      { type: "tool_use", id: `toolu_${position}`, name: call.name, input: {} },
      splitInto(JSON.stringify(call.arguments), call.pieces).map((partial_json) => ({ type: "input_json_delta", partial_json })),
    );
  list.push({ type: "message_delta", delta: { stop_reason: reply.calls.length > 0 ? "tool_use" : "end_turn" }, usage: { output_tokens: 4 } });
  list.push({ type: "message_stop" });
  return list.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join("");
}

const ask = (url: string) =>
  chatOnce({ baseUrl: url, model: "m", messages: [{ role: "user", content: "x" }], retry: { retries: 0 }, anthropic: true });

test("the same reply comes out however Anthropic's event stream is cut into reads", async () => {
  let reply: Reply | undefined;
  await using server = startFrameServer(() => {
    const generated = reply as Reply;
    return { chunks: cutInto(new TextEncoder().encode(events(generated)), generated.cuts) };
  });
  await fc.assert(
    fc.asyncProperty(replyArbitrary, async (generated) => {
      reply = generated;
      const result = await ask(server.url);
      expect(result.content).toBe(generated.texts.join(""));
      expect(result.reasoning).toBe(generated.thinking.join(""));
      expect(result.toolCalls).toEqual(
        generated.calls.map((call, position) => ({ id: `toolu_${position}`, name: call.name, arguments: call.arguments })),
      );
      expect(result.finishReason).toBe(generated.calls.length > 0 ? "tool_calls" : "stop");
      expect(result.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
    }),
    { numRuns: 40 },
  );
  expect(server.requests.every((request) => request.path === "/v1/messages")).toBe(true);
});

test("a body cut anywhere before its stop reason fails as interrupted, keeping a prefix of the text", async () => {
  let body = "";
  let cutAt = 0;
  await using server = startFrameServer(() => ({ chunks: [body.slice(0, cutAt)] }));
  await fc.assert(
    fc.asyncProperty(replyArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), async (generated, where) => {
      body = events(generated);
      // Anywhere before the end of message_delta's JSON: the stream never said it was done.
      cutAt = Math.floor(where * (body.indexOf("\n\n", body.indexOf("event: message_delta")) - 1));
      const failure = await chatFailure(ask(server.url));
      expect(failure.kind).toBe("interrupted");
      expect(generated.texts.join("").startsWith(failure.partialContent ?? "")).toBe(true);
    }),
    { numRuns: 40 },
  );
});

test("a stream cut inside a field's name is interrupted, on Anthropic's stream and the OpenAI-compatible one", async () => {
  // Found by the property above (seed 1915996022): a body cut to "e" was called a malformed stream ("Unknown field").
  let body = "";
  await using server = startFrameServer(() => ({ chunks: [body] }));
  const openai = (url: string) => chatOnce({ baseUrl: url, model: "m", messages: [{ role: "user", content: "x" }], retry: { retries: 0 } });
  for (const cut of ["e", "ev", "event: message_start\nd", "event: message_start\ndat"]) {
    body = cut;
    expect({ cut, kind: (await chatFailure(ask(server.url))).kind }).toEqual({ cut, kind: "interrupted" });
  }
  for (const cut of ["d", "da", 'data: {"choices":[]}\n\nd']) {
    body = cut;
    expect({ cut, kind: (await chatFailure(openai(server.url))).kind }).toEqual({ cut, kind: "interrupted" });
  }
  // A whole line of a field no one defined, not at the end, is still a malformed stream.
  body = 'bogus: 1\n\ndata: {"choices":[]}\n\n';
  expect((await chatFailure(openai(server.url))).kind).toBe("malformed-event");
});
