import { expect, test } from "bun:test";
import fc from "fast-check";
import { ThinkSplitter } from "./think-splitter.ts";

// chatOnce takes a delta for which passesThrough holds as text without calling push: the stream must
// still read as the same text in one piece does, whatever tags and blank lines are split across deltas.
const pieceArbitrary = fc.constantFrom("<think>", "</think>", "<", "<th", "ink>", "</", "think>", "\n\n", "  ", "a", "b c", "x<y");
const deltasArbitrary = fc.array(
  fc.array(pieceArbitrary, { minLength: 1, maxLength: 4 }).map((pieces) => pieces.join("")),
  { maxLength: 12 },
);

function readAll(deltas: string[], skipPlain: boolean): { text: string; reasoning: string } {
  const splitter = new ThinkSplitter();
  let text = "";
  let reasoning = "";
  for (const delta of deltas) {
    if (skipPlain && splitter.passesThrough(delta)) {
      text += delta;
      continue;
    }
    const split = splitter.push(delta);
    text += split.text;
    reasoning += split.reasoning;
  }
  const rest = splitter.flush();
  return { text: text + rest.text, reasoning: reasoning + rest.reasoning };
}

test("deltas read with passesThrough say what the whole text says", () => {
  fc.assert(
    fc.property(deltasArbitrary, (deltas) => {
      const whole = readAll([deltas.join("")], false);
      expect(readAll(deltas, true)).toEqual(whole);
      expect(readAll(deltas, false)).toEqual(whole);
    }),
    { numRuns: 500 },
  );
});

test("plain text passes through; text after a tag or a held tag start does not", () => {
  const splitter = new ThinkSplitter();
  expect(splitter.passesThrough("hello")).toBe(true);
  expect(splitter.passesThrough("a<b")).toBe(false);
  splitter.push("<think>why");
  expect(splitter.passesThrough("more")).toBe(false);
  splitter.push("</think>");
  expect(splitter.passesThrough("\n\nanswer")).toBe(false);
});
