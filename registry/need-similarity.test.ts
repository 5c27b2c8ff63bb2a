import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { COVERED_BY_TOOL, cosine, needKey, needSimilarity, needTerms, SAME_NEED, stem } from "./need-similarity.ts";

// The same need said in other words, as people in a room say it: each pair must meet.
const SAME: [string, string][] = [
  ["clamps a number into a range", "keep a value within bounds"],
  ["clamps a number into a range", "limits a number to a range between a min and a max"],
  ["keep a value within bounds", "limits a number to a range between a min and a max"],
  ["count the words in a text", "how many words does this sentence have"],
  ["count the words in a text", "counting words of a string"],
  ["convert a temperature from celsius to fahrenheit", "turn celsius degrees into fahrenheit"],
  ["celsius to fahrenheit: a tool named celsius_to_fahrenheit", "convert Celsius to Fahrenheit"],
  ["palindrome checker", "check whether a phrase is a palindrome"],
  ["check whether a phrase reads the same backwards", "is this sentence a palindrome"],
  ["add up a list of numbers", "the sum of a list of numbers"],
  ["find the largest number in a list", "the maximum of an array of numbers"],
  ["reverse the order of the words in a sentence", "reversing words of a text"],
];

// Needs that share words but not their job: each pair must stay apart.
const DIFFERENT: [string, string][] = [
  ["count the vowels in a text", "count the words in a text"],
  ["reverse the words of a sentence", "count the words in a sentence"],
  ["add up a list of numbers", "the largest number of a list"],
  ["convert celsius to fahrenheit", "convert a title into a URL slug"],
  ["clamp a number into a range", "the largest number of a list"],
  ["count words", "count numbers"],
  ["check whether a phrase is a palindrome", "check whether a number is prime"],
  ["parse a YAML file", "parse a CSV file"],
];

describe("needSimilarity", () => {
  test.each(SAME)("the same need in other words: %p ~ %p", (a, b) => {
    expect(needSimilarity(a, b)).toBeGreaterThanOrEqual(SAME_NEED);
  });

  test.each(DIFFERENT)("different needs that share words: %p ≁ %p", (a, b) => {
    expect(needSimilarity(a, b)).toBeLessThan(SAME_NEED);
  });

  test("one need asked three times in other words meets itself each time, and no other need", () => {
    const asked = [
      "we need a tool that clamps a number into a range",
      "can you make a tool to keep a value within bounds?",
      "limits a number to lower and upper bounds",
    ];
    for (const a of asked) for (const b of asked) expect(needSimilarity(a, b)).toBeGreaterThanOrEqual(SAME_NEED);
    for (const a of asked) expect(needSimilarity(a, "convert celsius to fahrenheit")).toBeLessThan(SAME_NEED);
  });

  test("a tool's name and description answer a need said in its own words", () => {
    expect(needSimilarity("clamps a number into a range", "clamp_number Clamps value into [min, max]; min must not exceed max.")).toBeGreaterThanOrEqual(
      COVERED_BY_TOOL,
    );
    expect(needSimilarity("how many words are in this text", "word_count Counts the words of a text: runs of non-space characters.")).toBeGreaterThanOrEqual(
      COVERED_BY_TOOL,
    );
    expect(needSimilarity("convert celsius to fahrenheit", "word_count Counts the words of a text: runs of non-space characters.")).toBeLessThan(
      COVERED_BY_TOOL,
    );
  });

  test("symmetric, bounded, 1 for a text with itself, deterministic", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.string({ maxLength: 120 }), (a, b) => {
        const score = needSimilarity(a, b);
        expect(score).toBe(needSimilarity(b, a));
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
        if (needTerms(a).size > 0) expect(needSimilarity(a, a)).toBe(1);
      }),
    );
  });

  test("hostile text: controls, a megabyte, only stop words or only digits give no terms and no error", () => {
    expect(needSimilarity("\u0000\u001b[31m\u202e", "tool")).toBe(0);
    expect(needTerms("a tool that the we need please").size).toBe(0);
    expect(needTerms("123 456").size).toBe(0);
    const huge = "clamp ".repeat(200_000);
    expect(needKey(needTerms(huge))).toBe("clamp");
  });

  test("snake_case and camelCase names split into words; the stemmer meets the forms of a verb", () => {
    expect(needKey(needTerms("celsius_to_fahrenheit"))).toBe("celsius fahrenheit");
    expect(needKey(needTerms("wordCount"))).toBe("count word");
    expect(["clamps", "clamped", "clamping", "clamp"].map(stem)).toEqual(["clamp", "clamp", "clamp", "clamp"]);
    expect(stem("exceed")).toBe("exceed");
  });

  test("cosine of vectors", () => {
    expect(cosine(new Float32Array([1, 0]), new Float32Array([1, 0]))).toBeCloseTo(1);
    expect(cosine(new Float32Array([1, 0]), new Float32Array([0, 1]))).toBeCloseTo(0);
    expect(cosine(new Float32Array([1]), new Float32Array([1, 2]))).toBe(0);
  });
});
