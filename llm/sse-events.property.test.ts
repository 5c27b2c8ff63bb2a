import { expect, test } from "bun:test";
import { createParser } from "eventsource-parser";
import fc from "fast-check";
import { SseEvents } from "./sse-events.ts";

// SseEvents reads the usual event itself and leaves the rest to eventsource-parser: for any stream cut anywhere, the
// data it hands on, in order, is the parser's alone, and so is the last event read at the end of the stream.

const line = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 8 }).map((text) => `data: {"content":${JSON.stringify(text)}}`) },
  { weight: 2, arbitrary: fc.constantFrom("data: [DONE]", "data:{}", "data: ", "data:", "data", "data:  two spaces", "data: x: y") },
  { weight: 2, arbitrary: fc.constantFrom(": ping", "event: error", "id: 7", "retry: 10", "retry: x", "", "\uFEFFdata: bom", "dat: typo") },
);
const lineEnd = fc.constantFrom("\n", "\n", "\n", "\r\n", "\r");

/** The data of every event the parser alone finds in `pieces`, the last one read at the end as chatOnce reads it. */
function byParser(pieces: readonly string[]): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (event) => data.push(event.data) });
  for (const piece of pieces) parser.feed(piece);
  parser.feed("\n\n");
  return data;
}

function bySseEvents(pieces: readonly string[]): string[] {
  const data: string[] = [];
  const events = new SseEvents(
    (text, start, end) => data.push(text.slice(start, end)),
    () => {},
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
