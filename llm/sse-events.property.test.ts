import { expect, test } from "bun:test";
import { createParser } from "eventsource-parser";
import fc from "fast-check";
import { ChunkTemplate } from "./chunk-template.ts";
import { readChunk } from "./read-chunks.ts";
import { SseEvents } from "./sse-events.ts";

// SseEvents reads the usual event itself and leaves the rest to eventsource-parser: for any stream cut anywhere, the
// data it hands on, in order, is the parser's alone, and so is the last event read at the end of the stream.

/** The data of the events a stream's template reads whole (chatOnce's `known` events), with its text in place. */
const TEMPLATE_DATA = '{"choices":[{"index":0,"delta":{"content":"x"}}]}';
const templated = (text: string) => `data: ${TEMPLATE_DATA.replace('"x"', () => text)}`;

const line = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 8 }).map((text) => `data: {"content":${JSON.stringify(text)}}`) },
  { weight: 4, arbitrary: fc.string({ maxLength: 8 }).map((text) => templated(JSON.stringify(text))) },
  { weight: 1, arbitrary: fc.constantFrom(templated('"a"b"'), templated('"a\\"'), templated('"a"\ndata: x'), `${templated('"a"')} `) },
  { weight: 2, arbitrary: fc.constantFrom("data: [DONE]", "data:{}", "data: ", "data:", "data", "data:  two spaces", "data: x: y") },
  { weight: 2, arbitrary: fc.constantFrom(": ping", "event: error", "id: 7", "retry: 10", "retry: x", "", "\uFEFFdata: bom", "dat: typo") },
);
const lineEnd = fc.constantFrom("\n", "\n", "\n", "\n\n", "\n\n", "\r\n", "\r");

/** The data of every event the parser alone finds in `pieces`, the last one read at the end as chatOnce reads it. */
function byParser(pieces: readonly string[]): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (event) => data.push(event.data) });
  for (const piece of pieces) parser.feed(piece);
  parser.feed("\n\n");
  return data;
}

let readWhole = 0;

/** The data SseEvents hands on, the events a template reads whole (`known`) among them, as chatOnce reads them. */
function bySseEvents(pieces: readonly string[]): string[] {
  const data: string[] = [];
  const template = new ChunkTemplate();
  template.learn(TEMPLATE_DATA, readChunk(JSON.parse(TEMPLATE_DATA)));
  const events = new SseEvents(
    (text, start, end) => data.push(text.slice(start, end)),
    () => {},
    (text, at) => {
      const value = template.readEvent(text, at);
      if (value === undefined) return -1;
      const end = template.eventEnd(at, value);
      // The whole event is one data line and its blank line; its data is the line after `data: `.
      expect(text.slice(end - 2, end)).toBe("\n\n");
      readWhole += 1;
      data.push(text.slice(at + 6, end - 2));
      return end;
    },
  );
  for (const piece of pieces) events.feed(piece, () => false);
  events.end(() => false);
  return data;
}

test("the events and their data are the parser's, however the stream is cut, with CR, comments and other fields in it", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(line, lineEnd), { maxLength: 24 }), fc.array(fc.nat(600), { maxLength: 10 }), (lines, cuts) => {
      const text = lines.map(([content, end]) => content + end).join("");
      const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
      const pieces = [...points, text.length].map((point, index) => text.slice(index === 0 ? 0 : points[index - 1], point));
      expect(bySseEvents(pieces)).toEqual(byParser(pieces));
    }),
    { numRuns: 5000 },
  );
  // The property is also about the events read whole; a generator that never made one would prove nothing of them.
  expect(readWhole).toBeGreaterThan(100);
});

test("a stop between events ends the reading there", () => {
  const data: string[] = [];
  const events = new SseEvents(
    (text, start, end) => data.push(text.slice(start, end)),
    () => {},
  );
  events.feed("data: one\n\ndata: two\n\ndata: three\n\n", () => data.length >= 2);
  events.end(() => data.length >= 2);
  expect(data).toEqual(["one", "two"]);
});
