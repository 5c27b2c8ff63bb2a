import { expect, test } from "bun:test";
import fc from "fast-check";
import { ARGUMENTS_LINE, argumentsLine, argumentsText, statsLine } from "./reply-figures.ts";

test("a reply's figures carry a rate only when the room measured one, as the terminal's line does", () => {
  expect(statsLine({ completionTokens: 12, tokensPerSecond: 48, durationMs: 1234 })).toBe("12 tokens · 48.0 tokens/s · 1.2 s");
  // Too brief a stream to mean anything: the room says 0, and no "0.0 tokens/s" is shown.
  expect(statsLine({ completionTokens: 3, tokensPerSecond: 0, durationMs: 40 })).toBe("3 tokens · 0.0 s");
  expect(statsLine({ completionTokens: 1, tokensPerSecond: 0, durationMs: 12_600 })).toBe("1 token · 13 s");
});

test("a call's arguments: one line, cut with … past the width; whole, each text as written", () => {
  const script = Array.from({ length: 30 }, (_, index) => `echo "row ${index + 1}"`).join("\n");
  const folded = argumentsLine({ cmd: script });
  expect(folded.folded).toBe(true);
  expect(folded.line).toHaveLength(ARGUMENTS_LINE);
  expect(folded.line.startsWith('{"cmd":"echo \\"row 1\\"\\necho')).toBe(true);
  expect(folded.line.endsWith("…")).toBe(true);
  expect(argumentsLine({ cmd: "ls -la" })).toEqual({ line: '{"cmd":"ls -la"}', folded: false });
  expect(argumentsText({ cmd: script, timeoutS: 30 })).toBe(`cmd:\n${script}\ntimeoutS: 30`);
  expect(argumentsText(["a", 1])).toBe('[\n "a",\n 1\n]');
});

test("whatever a model sends as arguments, the line is one line of at most the width", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (args) => {
      const { line, folded } = argumentsLine(args);
      expect(line.includes("\n")).toBe(false);
      expect(line.length).toBeLessThanOrEqual(ARGUMENTS_LINE);
      expect(folded).toBe(line.endsWith("…") && (JSON.stringify(args) ?? "null").length > ARGUMENTS_LINE);
    }),
    { numRuns: 200 },
  );
});
