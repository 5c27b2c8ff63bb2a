import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readChunkBySchema } from "./read-chunks.ts";
import { readCommonChunk } from "./read-common-chunk.ts";

// The common chunk is read by hand for speed; the schemas stay the definition. For any chunk, the hand
// reading either steps aside (undefined) or gives exactly what the schemas give.

const ABSENT = Symbol("absent");

/** An object from [key, value] pairs, leaving out the pairs whose value is ABSENT. */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) if (value !== ABSENT) object[key] = value;
  return object;
}

const oddValue = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, -0, 2 ** 31, 2 ** 53, 2 ** 60, 1e300, Number.NaN, Number.POSITIVE_INFINITY),
  fc.string({ maxLength: 4 }),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.constant(Object.create(null)),
  fc.constant(Object.create({ content: 5 })),
);
/** A field: usually a value of the expected kind, sometimes left out, a near miss or any odd value. */
const field = <T>(expected: fc.Arbitrary<T>, nearMiss: fc.Arbitrary<unknown> = oddValue) =>
  fc.oneof(
    { weight: 14, arbitrary: expected },
    { weight: 3, arbitrary: fc.constant(ABSENT) },
    { weight: 1, arbitrary: nearMiss },
    { weight: 1, arbitrary: oddValue },
  );
const nearIndex = fc.constantFrom(-1, -0, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 1e300, "0", null);
const extras = fc.array(fc.tuple(fc.constantFrom("type", "role", "refusal", "extra", "__proto__", "constructor", "logprobs"), oddValue), {
  maxLength: 2,
});

const functionPart = fc
  .tuple(
    field(fc.string({ maxLength: 6 })),
    field(fc.oneof(fc.string({ maxLength: 8 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer()))),
    extras,
  )
  .map(([name, args, more]) => objectOf([["name", name], ["arguments", args], ...more]));
const toolCall = fc
  .tuple(field(fc.integer({ min: 0, max: 5 }), nearIndex), field(fc.string({ maxLength: 6 })), field(functionPart), extras)
  .map(([index, id, fn, more]) => objectOf([["index", index], ["id", id], ["function", fn], ...more]));
const delta = fc
  .tuple(
    field(fc.string({ maxLength: 6 })),
    field(fc.string({ maxLength: 6 })),
    field(fc.string({ maxLength: 6 })),
    field(fc.array(fc.oneof({ weight: 12, arbitrary: toolCall }, { weight: 1, arbitrary: oddValue }), { minLength: 1, maxLength: 3 })),
    extras,
  )
  .map(([content, reasoning, reasoningContent, calls, more]) =>
    objectOf([["content", content], ["reasoning", reasoning], ["reasoning_content", reasoningContent], ["tool_calls", calls], ...more]),
  );
const choice = fc
  .tuple(
    field(delta),
    fc.oneof({ weight: 8, arbitrary: fc.constant(ABSENT) }, { weight: 1, arbitrary: field(delta) }),
    field(fc.constantFrom("stop", "tool_calls", "length", "")),
    extras,
  )
  .map(([d, message, finish, more]) => objectOf([["index", 0], ["delta", d], ["message", message], ["finish_reason", finish], ...more]));
const chunk = fc
  .tuple(
    field(
      fc.oneof(
        { weight: 6, arbitrary: fc.tuple(choice).map((one) => [...one]) },
        { weight: 1, arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: choice }, { weight: 1, arbitrary: oddValue }), { maxLength: 2 }) },
      ),
    ),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(ABSENT) },
      { weight: 1, arbitrary: field(fc.record({ prompt_tokens: fc.integer(), completion_tokens: fc.integer() })) },
    ),
    fc.oneof({ weight: 8, arbitrary: fc.constant(ABSENT) }, { weight: 1, arbitrary: oddValue }),
    extras,
  )
  .map(([choices, usage, error, more]) => objectOf([["id", "chatcmpl-1"], ["choices", choices], ["usage", usage], ["error", error], ...more]));

const anyChunk = fc.oneof({ weight: 8, arbitrary: chunk }, { weight: 1, arbitrary: oddValue }, { weight: 1, arbitrary: fc.anything() });

function agreesWithSchema(value: unknown): boolean {
  const fast = readCommonChunk(value);
  if (fast !== undefined) expect(fast as unknown).toStrictEqual(readChunkBySchema(value));
  return fast !== undefined;
}

describe("readCommonChunk", () => {
  test("property: it steps aside or reads exactly what the schemas read (objects as built, odd values included)", () => {
    let read = 0;
    fc.assert(
      fc.property(anyChunk, (value) => {
        if (agreesWithSchema(value)) read += 1;
      }),
      { numRuns: 5_000 },
    );
    // Not a check that always steps aside: it reads a good share of what it is given.
    expect(read).toBeGreaterThan(250);
  }, 30_000);

  test("property: the same for chunks as they arrive, through JSON (huge numbers, negative indexes, nulls)", () => {
    fc.assert(
      fc.property(anyChunk, (value) => {
        const text = JSON.stringify(value);
        if (text !== undefined) agreesWithSchema(JSON.parse(text));
      }),
      { numRuns: 5_000 },
    );
  }, 30_000);

  test("the shapes servers send take the hand reading", () => {
    const frames = [
      // Ollama, openai and vLLM text, tool-call fragments and whole calls, the finish and the usage chunk.
      { id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "tok " }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { content: null, refusal: null }, logprobs: null, finish_reason: null }], usage: null },
      { choices: [{ index: 0, delta: { reasoning_content: "hm", content: "" }, finish_reason: null, stop_reason: null }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "sh", arguments: "" } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"cmd' } }] }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ id: "c", function: { name: "sh", arguments: { cmd: "ls" } } }] } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } },
    ];
    for (const frame of frames) {
      expect(readCommonChunk(frame)).toBeDefined();
      expect(readCommonChunk(frame)).toStrictEqual(readChunkBySchema(frame));
    }
  });

  test("what it leaves to the schemas: an error, odd fields, a second choice, a message", () => {
    for (const frame of [
      { error: { message: "boom" } },
      { choices: [{ delta: { content: 5 } }] },
      { choices: [{ delta: { tool_calls: [{ index: -1 }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 2 ** 53 }] } }] },
      { choices: [{ delta: { content: "a" } }, { delta: { content: "b" } }] },
      { choices: [{ message: { content: "m" } }] },
      { choices: "x" },
      "text",
    ]) {
      expect(readCommonChunk(frame)).toBeUndefined();
    }
  });
});
