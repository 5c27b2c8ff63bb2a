import { expect, test } from "bun:test";
import fc from "fast-check";
import { wrapAt } from "./wrap-line.ts";

function wrapAll(text: string, room: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest !== "") {
    const [head, tail] = wrapAt(rest, room, false);
    lines.push(head);
    rest = tail;
  }
  return lines;
}

test("breaks after the last whole word; a word longer than the line is cut", () => {
  expect(wrapAll("the quick brown fox", 10)).toEqual(["the quick", "brown fox"]);
  expect(wrapAll("abcdefghijkl mn", 5)).toEqual(["abcde", "fghij", "kl mn"]);
  expect(wrapAll("日本語のテキスト", 7)).toEqual(["日本語", "のテキ", "スト"]);
});

test("property: no line is wider than the room, and no visible character is lost or added", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom("a", "b", " ", "日", "é") }), fc.integer({ min: 2, max: 30 }), (text, room) => {
      const lines = wrapAll(text, room);
      for (const line of lines) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(room);
      expect(lines.join("").replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
    }),
    { numRuns: 500 },
  );
});
