import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { wrapAt, wrapText } from "./wrap-line.ts";

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

describe("wrapText: /help, the banner and the resume preview", () => {
  test("breaks between words; a table row continues under its last column, other lines under their indentation", () => {
    const help = "  /mode MODE    group, direct:<persona> or file:<path>: who answers and where replies go";
    expect(wrapText(help, 40)).toBe(
      "  /mode MODE    group, direct:<persona>\n                or file:<path>: who\n                answers and where\n                replies go",
    );
    expect(wrapText("    resumed with three earlier messages, the last ones below", 30)).toBe(
      "    resumed with three earlier\n    messages, the last ones\n    below",
    );
    for (const line of wrapText(help, 40).split("\n")) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(40);
    expect(wrapText("short\nlines stay", 40)).toBe("short\nlines stay");
    expect(wrapText(help, undefined)).toBe(help);
  });

  test("a word longer than the line is cut, and nothing is lost", () => {
    const long = "x".repeat(50);
    const wrapped = wrapText(`a ${long} b`, 20);
    for (const line of wrapped.split("\n")) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(20);
    expect(wrapped.replace(/\s/g, "")).toBe(`a${long}b`);
  });
});
