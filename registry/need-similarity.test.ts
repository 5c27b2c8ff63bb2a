import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  CLOSE_NEED,
  COVERED_BY_TOOL,
  compareNeeds,
  cosine,
  needDirections,
  needKey,
  needSimilarity,
  needTerms,
  SAME_NEED,
  stem,
} from "./need-similarity.ts";

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

// Pairs the words alone may call one need for certain: the same job and object, said in other words.
const CERTAIN: [string, string][] = [
  ...SAME,
  ["convert celsius to fahrenheit", "turn celsius into fahrenheit"],
  ["convert a unix timestamp to a date", "turn a unix timestamp into a date"],
  ["check whether a text is a palindrome", "a palindrome checker"],
  ["sort a list of numbers", "sort an array of numbers"],
  ["clamp a number to a range", "clamps value into [min, max]"],
];

// Pairs that share most of their words but not their job: never one need for certain by the words. Those marked
// close go to the embeddings and the model; the rest are apart.
const NOT_CERTAIN: { pair: [string, string]; close: boolean; why: string }[] = [
  // Opposite ways round: the same words, the other direction.
  { pair: ["convert celsius to fahrenheit", "convert fahrenheit to celsius"], close: true, why: "opposite ways" },
  { pair: ["convert json to yaml", "convert yaml to json"], close: true, why: "opposite ways" },
  { pair: ["convert hex to decimal", "convert decimal to hex"], close: true, why: "opposite ways" },
  { pair: ["convert km to miles", "convert miles to km"], close: true, why: "opposite ways" },
  { pair: ["convert a unix timestamp to a date", "convert a date to a unix timestamp"], close: true, why: "opposite ways" },
  { pair: ["convert roman numerals to numbers", "convert numbers to roman numerals"], close: true, why: "opposite ways" },
  { pair: ["celsius_to_fahrenheit", "fahrenheit_to_celsius"], close: true, why: "opposite ways (tool names)" },
  { pair: ["turn a number into words", "turn words into a number"], close: true, why: "opposite ways" },
  { pair: ["get the year from a date", "build a date from a year"], close: true, why: "opposite ways (from)" },
  // Different objects of one job.
  { pair: ["check if a number is prime", "check if a number is even"], close: false, why: "different objects" },
  { pair: ["sort a list of numbers", "sort a list of words"], close: true, why: "different objects" },
  { pair: ["count the vowels in a text", "count the consonants in a text"], close: true, why: "different objects" },
  { pair: ["parse a YAML file", "parse a TOML file"], close: true, why: "different objects" },
  { pair: ["convert celsius to fahrenheit", "convert celsius to kelvin"], close: true, why: "different objects" },
  // Different jobs on one object.
  { pair: ["encode a text as base64", "decode a base64 text"], close: true, why: "different verbs" },
  { pair: ["count the words in a text", "reverse the words in a text"], close: true, why: "different verbs" },
  { pair: ["sort a list of numbers", "shuffle a list of numbers"], close: false, why: "different verbs" },
  { pair: ["check whether a phrase is a palindrome", "check whether a number is prime"], close: false, why: "different objects and verbs" },
];

describe("compareNeeds: when the words alone may say two needs are one", () => {
  test.each(CERTAIN)("one need for certain: %p ~ %p", (a, b) => {
    expect(compareNeeds(a, b)).toMatchObject({ certain: true, opposite: false });
    expect(compareNeeds(b, a).certain).toBe(true);
  });

  test.each(NOT_CERTAIN)("never certain by the words: $pair ($why)", ({ pair: [a, b], close }) => {
    const compared = compareNeeds(a, b);
    expect(compared.certain).toBe(false);
    expect(compareNeeds(b, a)).toEqual(compared);
    if (close) expect(compared.score).toBeGreaterThanOrEqual(CLOSE_NEED);
    else expect(compared.score).toBeLessThan(CLOSE_NEED);
  });

  test('the ways round a goal goes: before "to" and "into", after "from"; a "to" after a word that tells no job goes nowhere', () => {
    expect(needDirections("convert a temperature from celsius to fahrenheit")).toEqual([{ from: "celsius", to: "fahrenheit" }]);
    expect(needDirections("turn a unix timestamp into a date")).toEqual([{ from: "timestamp", to: "date" }]);
    expect(needDirections("celsius_to_fahrenheit")).toEqual([{ from: "celsius", to: "fahrenheit" }]);
    expect(needDirections("the year from a date")).toEqual([{ from: "date", to: "year" }]);
    expect(needDirections("we need a tool to count the vowels")).toEqual([]);
    expect(needDirections("I want to reverse a list")).toEqual([]);
  });

  // What a tool's name and description say, and the needs it answers for certain or not: a tool says more than a need.
  const REVERSE_WORDS = "reverse_words The words of a sentence in reverse order, joined by single spaces.";
  const CELSIUS = "celsius_to_fahrenheit Converts a temperature in degrees Celsius to degrees Fahrenheit.";
  const PRIME = "is_prime Checks whether a number is prime.";
  const SORT_NUMBERS = "sort_numbers Sorts a list of numbers in ascending order.";
  const VOWELS = "vowel_count Counts the vowels a, e, i, o, u of a text, in either case.";
  test.each([
    [REVERSE_WORDS, "reverse the order of the words in a sentence", true],
    [REVERSE_WORDS, "reverse the words of a text", true],
    [CELSIUS, "convert celsius to fahrenheit", true],
    [CELSIUS, "convert fahrenheit to celsius", false],
    [CELSIUS, "convert celsius to kelvin", false],
    [PRIME, "check if a number is prime", true],
    [PRIME, "check if a number is even", false],
    [SORT_NUMBERS, "sort a list of numbers", true],
    [SORT_NUMBERS, "sort a list of words", false],
    [VOWELS, "count the vowels in a text", true],
    [VOWELS, "count the consonants in a text", false],
  ] as const)("a tool answers a need for certain only when the need's own words are all the tool's: %p answers %p: %p", (tool, need, certain) => {
    expect(compareNeeds(tool, need, "answers").certain).toBe(certain);
  });

  test("symmetric and total over any text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.string({ maxLength: 120 }), (a, b) => {
        expect(compareNeeds(a, b)).toEqual(compareNeeds(b, a));
        if (needTerms(a).size > 0) expect(compareNeeds(a, a).certain).toBe(true);
      }),
    );
  });
});

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
    expect(
      needSimilarity("clamps a number into a range", "clamp_number Clamps value into [min, max]; min must not exceed max."),
    ).toBeGreaterThanOrEqual(COVERED_BY_TOOL);
    expect(
      needSimilarity("how many words are in this text", "word_count Counts the words of a text: runs of non-space characters."),
    ).toBeGreaterThanOrEqual(COVERED_BY_TOOL);
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
