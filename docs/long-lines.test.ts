import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LINE_WIDTH, longLinesOf, wrapLongLines } from "./long-lines.ts";

/** The value of the JavaScript expression assigned to `value` in `source` (its `x` given). */
function valueIn(source: string, x: unknown = "X"): unknown {
  return new Function("x", `${source.replace(/^export /gm, "")}\nreturn value;`)(x);
}

const padding = "an ordinary sentence of words that goes on ";

describe("wrapLongLines keeps what the code means", () => {
  test("a string, a template and String.raw cut at a space, joined with +, the same value; each piece within the width", () => {
    const sources = [
      `const value = "${padding.repeat(5)}end";`,
      `const value = \`${padding.repeat(3)}\${x} ${padding.repeat(3)}\${x.length} end\`;`,
      `const value = String.raw\`\\d+ ${padding.repeat(5)} \\n end\`;`,
      `const value = "${padding.repeat(4)}with \\"quotes\\" and \\u00e9 and \\n escapes".length;`,
    ];
    for (const source of sources) {
      let wrapped = source;
      for (let pass = 0; pass < 5; pass += 1) wrapped = wrapLongLines("x.ts", wrapped);
      expect(wrapped).not.toBe(source);
      expect(longLinesOf(wrapped)).toEqual([]);
      expect(valueIn(wrapped)).toEqual(valueIn(source));
    }
  });

  test("a regular expression literal becomes new RegExp of raw pieces: the same source and flags", () => {
    const words = Array.from({ length: 40 }, (_, index) => `word${index}`).join("|");
    const source = `const value = /\\b(?:${words})[^\\s"'\`<>]*\\/[\${]?\\\`?end$/gi;`;
    const wrapped = wrapLongLines("x.ts", source);
    expect(wrapped).toStartWith("const value = new RegExp(String.raw`\\b(?:word0|");
    const [before, after] = [valueIn(source), valueIn(wrapped)] as [RegExp, RegExp];
    expect([after.source, after.flags]).toEqual([before.source, before.flags]);
    expect(after.test('word39"')).toBe(before.test('word39"'));
  });

  test("a comment is wrapped at a space under its own prefix; a suppression, a type, a key and an import are left alone", () => {
    const comment = `  // ${padding.repeat(5)}end`;
    expect(wrapLongLines("x.ts", comment).split("\n")).toEqual([
      expect.stringMatching(/^ {2}\/\/ an ordinary/),
      expect.stringMatching(/^ {2}\/\/ \S/),
    ]);
    const docComment = ` * ${padding.repeat(5)}end`;
    expect(longLinesOf(wrapLongLines("x.ts", docComment))).toEqual([]);
    const kept = [
      `// biome-ignore lint/suspicious/noExplicitAny: ${padding.repeat(4)}`,
      `type Value = "${padding.repeat(4)}";`,
      `const value = { "${padding.repeat(4)}": 1 };`,
      `import { x } from "${padding.repeat(4)}";`,
      `const value = tag\`${padding.repeat(4)}\`;`,
    ];
    for (const source of kept) expect(wrapLongLines("x.ts", source)).toBe(source);
  });

  test("any string cut this way reads back as itself (fast-check)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: LINE_WIDTH, maxLength: 600 }), (text) => {
        const source = `const value = ${JSON.stringify(text)};`;
        let wrapped = source;
        for (let pass = 0; pass < 8; pass += 1) wrapped = wrapLongLines("x.ts", wrapped);
        expect(valueIn(wrapped)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});
