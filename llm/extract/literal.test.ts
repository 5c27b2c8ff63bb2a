import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LiteralReader } from "./literal.ts";

const parse = (source: string) => LiteralReader.parseWhole(source);

describe("LiteralReader", () => {
  test("reads whatever JSON.stringify writes exactly as JSON.parse does", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (value, indent) => {
        const source = JSON.stringify(value, null, indent);
        expect(parse(source)).toEqual(JSON.parse(source));
      }),
      { numRuns: 300 },
    );
  });

  test("reads Python literals", () => {
    expect(parse("{'a': True, 'b': False, 'c': None, 'd': (1, 2), 'e': [1,],}")).toEqual({ a: true, b: false, c: null, d: [1, 2], e: [1] });
    expect(parse("'it\\'s'")).toBe("it's");
    expect(parse('"""three\n"quoted" lines"""')).toBe('three\n"quoted" lines');
    expect(parse("'\\x41\\u00e9\\q'")).toBe("Aé\\q");
    expect(parse("{unquoted_key: 1}")).toEqual({ unquoted_key: 1 });
    expect(parse("1_000")).toBe(1000);
  });

  test("refuses what is not one whole value", () => {
    for (const source of ["", "{", '{"a" 1}', "[1 2]", "{'a': 1} x", "1e999", "-", ".", "NaN", "tru", "'open", "{a: }", "[1,,2]"]) {
      expect(parse(source)).toBeUndefined();
    }
  });

  test("gives up past the nesting cap instead of overflowing the stack", () => {
    expect(parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)).toBeUndefined();
    expect(parse(`${"[".repeat(50)}${"]".repeat(50)}`)).toBeDefined();
  });

  test("a key named __proto__ is an own property", () => {
    const value = parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    expect(Object.hasOwn(value, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  test("reads from a position inside a larger text and says where the value ends", () => {
    const text = 'prefix {"a": [1, "]"]} suffix';
    expect(new LiteralReader(text).read(7)).toEqual({ value: { a: [1, "]"] }, end: 22 });
    expect(new LiteralReader(text).read(0)).toBeUndefined();
  });
});
