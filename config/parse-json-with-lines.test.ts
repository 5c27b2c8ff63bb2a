import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JsonSyntaxError, parseJsonWithLines } from "./parse-json-with-lines.ts";

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJsonWithLines(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

describe("parseJsonWithLines", () => {
  test("gives what JSON.parse gives for any JSON, compact or indented", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, "\t"), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(parseJsonWithLines(text).value).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  test("comments are white space, and a key named __proto__ is a key as JSON.parse makes it", () => {
    const parsed = parseJsonWithLines('// a config\n{ /* the mode */ "mode": "group", // why\n "__proto__": { "x": 1 } }');
    expect(parsed.value).toEqual(JSON.parse('{ "mode": "group", "__proto__": { "x": 1 } }'));
    expect(Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
  });

  test("lineOf names the line of a key, of a list item, and of the deepest part of a path that exists", () => {
    const parsed = parseJsonWithLines('{\n  "personas": [\n    {\n      "name": "a",\n      "tools": { "sh": "allow" }\n    },\n    "b"\n  ]\n}');
    expect(parsed.lineOf([])).toBe(1);
    expect(parsed.lineOf(["personas"])).toBe(2);
    expect(parsed.lineOf(["personas", 0])).toBe(3);
    expect(parsed.lineOf(["personas", 0, "name"])).toBe(4);
    expect(parsed.lineOf(["personas", 0, "tools", "sh"])).toBe(5);
    expect(parsed.lineOf(["personas", 1])).toBe(7);
    expect(parsed.lineOf(["personas", 0, "missing", "deeper"])).toBe(3);
    expect(parsed.lineOf(["nothing"])).toBe(1);
  });

  test("a syntax error says where (line, column) and what to do", () => {
    const cases: [string, number, number, string][] = [
      ['{\n  "mode": "group",\n}', 3, 1, "remove the trailing comma"],
      ["[1,\n 2,\n]", 3, 1, "a trailing comma before ']'; remove it"],
      ['{"a" 1}', 1, 6, `expected ':' after the key "a"`],
      ['{"a": 1 "b": 2}', 1, 9, `expected ',' or '}' after the value of "a"`],
      ["[1 2]", 1, 4, "expected ',' or ']' in a list"],
      ['{"a": "open\n"}', 1, 12, "a string is not closed before the end of the line"],
      ['"open', 1, 6, "a string is not closed; add the closing quote"],
      ['"\\x"', 1, 5, "invalid escape sequence"],
      ["/* never closed", 1, 1, "a /* comment that is never closed"],
      ["{} {}", 1, 4, 'unexpected "{" after the end of the JSON value'],
      ["", 1, 1, "expected a value but found the end of the file"],
      ["nope", 1, 1, 'expected a value but found "n"'],
    ];
    for (const [text, line, column, problem] of cases) {
      const error = syntaxError(text);
      expect({ text, line: error.line, column: error.column }).toEqual({ text, line, column });
      expect(error.message).toContain(problem);
    }
  });
});
