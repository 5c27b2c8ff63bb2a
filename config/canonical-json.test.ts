import { expect, test } from "bun:test";
import fc from "fast-check";
import { canonicalJson } from "./canonical-json.ts";

test("keys sorted at every depth, undefined members left out, arrays in their order: the bytes the gate signs", () => {
  expect(canonicalJson({ b: 1, a: [{ d: "x", c: undefined }, 2], é: null, B: true })).toBe('{"B":true,"a":[{"d":"x"},2],"b":1,"é":null}');
  expect(canonicalJson("line\nbreak")).toBe('"line\\nbreak"');
  expect([canonicalJson([1, undefined]), canonicalJson(undefined)]).toEqual(["[1,null]", "null"]);
});

test("two spellings of one value are one text, and the text reads back as the value", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = canonicalJson(value);
      const reordered = JSON.parse(
        JSON.stringify(value, (_key, inner) =>
          inner && typeof inner === "object" && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).reverse()) : inner,
        ),
      );
      expect(canonicalJson(reordered)).toBe(text);
      expect(canonicalJson(JSON.parse(text))).toBe(text);
    }),
    { numRuns: 300 },
  );
});
