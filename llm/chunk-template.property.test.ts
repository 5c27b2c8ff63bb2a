import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ChunkTemplate, type TemplateField, type TextField } from "./chunk-template.ts";
import { type ReadChunk, readChunk } from "./read-chunks.ts";

// A stream read through its template must read as the full reading reads it: whenever the template answers an event,
// JSON.parse and readChunk of that event give a chunk of that one text field and nothing else (no error, usage, call,
// finish; every other text field empty), and the text is the field's; or, for a template of tool-call fragments, a chunk
// of exactly the one call the template makes with the event's string for its arguments, and nothing else. chat-once.ts
// adds the text, or stitches the call, alone on that word.

/** Text with what JSON must escape or a template could trip on: quotes, backslashes, controls, separators, keys. */
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 6 }) },
  {
    weight: 3,
    arbitrary: fc.string({ unit: fc.constantFrom("a", " ", '"', "\\", "\n", "\u0000", "\u2028", "é", "😀", "\ud800", ":", ",", "}"), maxLength: 6 }),
  },
  { weight: 1, arbitrary: fc.constantFrom('"content":"', '","content":"x', '"arguments":"', '{\\"a\\":', "\\", '\\"', "", "p", "q") },
);
const maybe = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: undefined });

/** One event's delta: mostly one text field, at times several, a call, an odd value or a second key of the same name. */
const delta = fc.record(
  {
    role: maybe(fc.constant("assistant")),
    content: maybe(fc.oneof(text, fc.constant(null))),
    reasoning: maybe(fc.oneof(text, fc.constant(null))),
    reasoning_content: maybe(fc.oneof(text, fc.constant(null))),
    tool_calls: maybe(fc.constant([{ index: 0, function: { arguments: "{" } }])),
  },
  { requiredKeys: [] },
);

/** What stays the same from event to event in a server's stream, and what may change. */
const stream = fc.record({
  model: fc.oneof(fc.constant("qwen3:8b"), text),
  usage: fc.constantFrom(undefined, undefined, null, { prompt_tokens: 3, completion_tokens: 4 }),
  nonce: fc.constantFrom(false, false, false, true),
  /** The changing text also in another object after the choices (`"meta":{"content":…}`), the delta's kept as it first was. */
  echo: fc.constantFrom(false, false, true),
  spaced: fc.boolean(),
  /** The delta most events share; `varies` is the field whose text changes from event to event. */
  shape: fc.record({
    delta: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom({}, { role: "assistant" }, { content: "" }, { reasoning: null }) },
      { weight: 2, arbitrary: delta },
    ),
    varies: fc.constantFrom("content", "content", "content", "reasoning", "reasoning_content", "tool_calls", "arguments", "arguments"),
    /** The tool call whose arguments vary, when `varies` is "arguments": what of it each fragment repeats. */
    call: fc.record(
      {
        index: fc.constantFrom(0, 0, 0, 0, 2, -1, 1.5, "0"),
        id: fc.constantFrom("call_1", "call_1", "", 7),
        type: fc.constant("function"),
        name: fc.constantFrom("write", "write", "", null),
      },
      { requiredKeys: [] },
    ),
    /** A second `"arguments"` key in the call's function object before the varying one (JSON.parse keeps the last). */
    earlierArguments: fc.constantFrom(undefined, undefined, undefined, "", "x"),
  }),
  events: fc.array(
    fc.record({
      text,
      /** Now and then an event of another shape. */
      other: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: delta }),
      finish: fc.constantFrom(null, null, null, null, "stop"),
      duplicate: fc.constantFrom(undefined, undefined, undefined, undefined, "content", "reasoning", "arguments"),
    }),
    { minLength: 1, maxLength: 12 },
  ),
});

type Stream = typeof stream extends fc.Arbitrary<infer T> ? T : never;

/** The events' data lines, as servers write them: key order, a per-event nonce, spaces after colons, duplicate keys. */
function dataLines(spec: Stream): string[] {
  const first = spec.events[0]?.text;
  const varying = (text: string | undefined): Record<string, unknown> => {
    if (spec.shape.varies !== "arguments") return { [spec.shape.varies]: text };
    const { name, ...call } = spec.shape.call;
    return { tool_calls: [{ ...call, function: { ...(name !== undefined ? { name } : {}), arguments: text } }] };
  };
  return spec.events.map((event, index) => {
    const chunk = {
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      model: spec.model,
      choices: [{ index: 0, delta: event.other ?? { ...spec.shape.delta, ...varying(spec.echo ? first : event.text) }, finish_reason: event.finish }],
      ...(spec.echo ? { meta: { [spec.shape.varies]: event.text } } : {}),
      ...(spec.usage !== undefined ? { usage: spec.usage } : {}),
      ...(spec.nonce ? { obfuscation: `n${index}` } : {}),
    };
    let line = JSON.stringify(chunk);
    const earlier = spec.shape.earlierArguments;
    if (earlier !== undefined && spec.shape.varies === "arguments") {
      line = line.replace('"function":{', () => `"function":{"arguments":${JSON.stringify(earlier)},`);
    }
    // A second key of the same name after the first: JSON.parse keeps the last.
    const second = event.duplicate ? `"${event.duplicate}":${JSON.stringify(event.text)}` : undefined;
    // Replaced through functions: the extra text may hold `$&`.
    if (second && line.includes('"delta":{}')) line = line.replace('"delta":{}', () => `"delta":{${second}}`);
    else if (second && index % 2 === 0) line = line.replace('"delta":{', () => `"delta":{${second},`);
    else if (second) line = line.replace('},"finish_reason"', () => `,${second}},"finish_reason"`);
    return spec.spaced ? line.replaceAll('":"', '": "') : line;
  });
}

/** That `chunk` is what the template says of an event it answered with `value`. */
function expectAsTemplateReads(chunk: ReadChunk | undefined, template: ChunkTemplate, field: TemplateField, value: string): void {
  if (field !== "arguments") {
    expectTextOnly(chunk, field, value);
    return;
  }
  expect(chunk?.error).toBeUndefined();
  expect(chunk?.usage ?? null).toBeNull();
  expect(chunk?.choice?.finishReason).toBeUndefined();
  const delta = chunk?.choice?.delta ?? {};
  for (const text of ["content", "reasoning", "reasoning_content"] as const) expect(Boolean(delta[text])).toBe(false);
  expect(chunk?.choice?.toolCalls).toStrictEqual([template.call(value)]);
}

function expectTextOnly(chunk: ReadChunk | undefined, field: TextField, value: string): void {
  expect(chunk?.error).toBeUndefined();
  expect(chunk?.usage ?? null).toBeNull();
  expect(chunk?.choice?.toolCalls).toEqual([]);
  expect(chunk?.choice?.finishReason).toBeUndefined();
  const delta = chunk?.choice?.delta ?? {};
  expect(delta[field]).toBe(value);
  for (const other of ["content", "reasoning", "reasoning_content"] as const) if (other !== field) expect(Boolean(delta[other])).toBe(false);
  // The assembly reads `reasoning ?? reasoning_content`.
  if (field === "reasoning_content") expect(delta.reasoning ?? null).toBeNull();
}

describe("a stream's template", () => {
  test("an event the template answers reads in full as that field's text, or that one call's fragment, and nothing else", () => {
    let answered = 0;
    let fragments = 0;
    fc.assert(
      fc.property(stream, (spec) => {
        const template = new ChunkTemplate();
        for (const data of dataLines(spec)) {
          const full = readChunk(JSON.parse(data));
          const fits = template.read(data);
          if (fits) {
            answered += 1;
            if (fits.field === "arguments") fragments += 1;
            expectAsTemplateReads(full, template, fits.field, fits.text);
          } else template.learn(data, full);
        }
      }),
      { numRuns: 4000 },
    );
    // The property is about events answered; a generator that never made one would prove nothing.
    expect(answered).toBeGreaterThan(500);
    expect(fragments).toBeGreaterThan(40);
    // 4 000 streams: about 0.3 s alone, several times that beside a busy machine's other work.
  }, 60_000);

  test("Ollama's, vLLM's and llama.cpp's text streams are read by their template after the first events", () => {
    const lines = (make: (token: string) => object) =>
      ["Hello", " there", ",\n", ' "quoted"', " é😀", " \\ end"].map((token) => JSON.stringify(make(token)));
    const streams = {
      ollama: lines((content) => ({
        id: "chatcmpl-7",
        object: "chat.completion.chunk",
        created: 1,
        model: "qwen3:8b",
        system_fingerprint: "fp_ollama",
        choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }],
      })),
      vllm: lines((reasoning_content) => ({
        id: "chatcmpl-x",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: { reasoning_content }, logprobs: null, finish_reason: null }],
      })),
      llamacpp: lines((content) => ({
        choices: [{ finish_reason: null, index: 0, delta: { content } }],
        created: 1,
        id: "chatcmpl-y",
        model: "m",
        object: "chat.completion.chunk",
      })),
    };
    for (const [server, data] of Object.entries(streams)) {
      const template = new ChunkTemplate();
      const read = data.map((line) => {
        const fits = template.read(line);
        if (!fits) template.learn(line, readChunk(JSON.parse(line)));
        return fits?.text ?? null;
      });
      expect({ server, read }).toEqual({ server, read: [null, " there", ",\n", ' "quoted"', " é😀", " \\ end"] });
    }
  });
  test("llama.cpp's and vLLM's tool-call fragments are read by their template after the call's first events", () => {
    const pieces = ['{"path":', ' "notes', '/a.md"', ', "text": "say \\"hi\\"', '\\n"}'];
    const event = (call: object) => ({ choices: [{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }] });
    const streams = {
      llamacpp: [
        {
          choices: [{ index: 0, delta: { role: "assistant", content: null }, finish_reason: null }],
          created: 1,
          id: "chatcmpl-y",
          model: "m",
          object: "chat.completion.chunk",
        },
        {
          ...event({ index: 0, id: "call_x", type: "function", function: { name: "write", arguments: "" } }),
          created: 1,
          id: "chatcmpl-y",
          model: "m",
        },
        ...pieces.map((piece) => ({ ...event({ index: 0, function: { arguments: piece } }), created: 1, id: "chatcmpl-y", model: "m" })),
      ],
      vllm: [
        {
          id: "chatcmpl-v",
          object: "chat.completion.chunk",
          model: "m",
          ...event({ id: "chatcmpl-tool-1", type: "function", index: 0, function: { name: "write" } }),
        },
        ...pieces.map((piece) => ({
          id: "chatcmpl-v",
          object: "chat.completion.chunk",
          model: "m",
          ...event({ index: 0, function: { arguments: piece } }),
        })),
      ],
    };
    for (const [server, chunks] of Object.entries(streams)) {
      const template = new ChunkTemplate();
      const read = chunks.map((chunk) => {
        const line = JSON.stringify(chunk);
        const fits = template.read(line);
        if (!fits) template.learn(line, readChunk(JSON.parse(line)));
        return fits ? template.call(fits.text) : null;
      });
      // The call's first fragment teaches the template; every later one is read off it, as its own call's fragment.
      const expected = pieces.slice(1).map((piece) => ({ index: 0, function: { arguments: piece } }));
      expect({ server, read: read.slice(-expected.length) }).toStrictEqual({ server, read: expected });
      expect(read.slice(0, -expected.length).every((value) => value === null)).toBe(true);
    }
  });
});

describe("an event read whole off the template", () => {
  test("is the one SSE event its data line makes, read as the template reads that data", () => {
    let answered = 0;
    let fragments = 0;
    fc.assert(
      fc.property(stream, fc.array(fc.constantFrom("", "\n", ": ping\n\n", "data: x\n"), { maxLength: 12 }), (spec, between) => {
        const template = new ChunkTemplate();
        const lines = dataLines(spec);
        // The events one after another, now and then with a comment, a blank line or half an event between them.
        const text = lines.map((data, index) => `data: ${data}\n\n${between[index] ?? ""}`).join("");
        let at = 0;
        for (const [index, data] of lines.entries()) {
          const value = template.readEvent(text, at);
          const end = at + `data: ${data}\n\n`.length;
          if (value !== undefined) {
            answered += 1;
            expect(template.eventEnd(at, value)).toBe(end);
            if (template.field === "arguments") fragments += 1;
            expectAsTemplateReads(readChunk(JSON.parse(data)), template, template.field ?? "content", value);
          } else if (!template.read(data)) template.learn(data, readChunk(JSON.parse(data)));
          at = end + (between[index] ?? "").length;
        }
      }),
      { numRuns: 4000 },
    );
    expect(answered).toBeGreaterThan(500);
    expect(fragments).toBeGreaterThan(40);
    // 4 000 streams: about 0.3 s alone, several times that beside a busy machine's other work.
  }, 60_000);

  test("never when the template came from data of several lines: the first line alone is that event's data", () => {
    const data = (content: string) => `{"id":1,\n"choices":[{"index":0,"delta":{"content":"${content}"}}]}`;
    const template = new ChunkTemplate();
    template.learn(data("a"), readChunk(JSON.parse(data("a"))));
    expect(template.read(data("b"))?.text).toBe("b");
    expect(template.readEvent(`data: ${data("b")}\n\n`, 0)).toBeUndefined();
  });
});
