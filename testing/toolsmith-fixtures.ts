// Goals with known-good answers for the toolsmith (spec, tool.ts, tool.test.ts), and the scripted-server rules
// that play the toolsmith with them. Used by the pipeline tests, the CLI tests and the bench.
import type { ScriptInput } from "../scripted-server/script.ts";

export type ToolFixture = {
  /** A word of the goal that rules match on. */
  key: string;
  goal: string;
  spec: Record<string, unknown>;
  tool: string;
  tests: string;
};

const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

function fixture(
  key: string,
  goal: string,
  spec: Omit<Record<string, unknown>, "capabilities" | "deterministic">,
  tool: string,
  tests: string,
): ToolFixture {
  return { key, goal, spec: { ...spec, deterministic: true, capabilities: { network: false, filesystem: "none" } }, tool, tests };
}

export const WORD_COUNT = fixture(
  "wordcount",
  "a tool that counts the words in a text (wordcount)",
  {
    name: "word_count",
    description: "Counts the words of a text: runs of non-space characters.",
    input_schema: obj({ text: { type: "string" } }),
    output_schema: obj({ words: { type: "integer" } }),
    examples: [
      { input: { text: "one two three" }, output: { words: 3 } },
      { input: { text: "" }, output: { words: 0 } },
      { input: { text: "  spaced   out  " }, output: { words: 2 } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ text: z.string() });

export default function wordCount(input: unknown): { words: number } {
  const { text } = Input.parse(input);
  const trimmed = text.trim();
  if (trimmed === "") return { words: 0 };
  return { words: trimmed.split(/\\s+/).length };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import wordCount from "./tool.ts";

test("examples", () => {
  expect(wordCount({ text: "one two three" })).toEqual({ words: 3 });
  expect(wordCount({ text: "" })).toEqual({ words: 0 });
  expect(wordCount({ text: "   " })).toEqual({ words: 0 });
  expect(wordCount({ text: "word" })).toEqual({ words: 1 });
});

test("joined words are counted", () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 30 }), (words) => {
      expect(wordCount({ text: words.join(" ") }).words).toBe(words.length);
    }),
  );
});

test("abuse: wrong types, huge input", () => {
  expect(() => wordCount({ text: 5 })).toThrow();
  expect(() => wordCount(null)).toThrow();
  expect(wordCount({ text: "a ".repeat(100_000) }).words).toBe(100_000);
});
`,
);

export const CLAMP = fixture(
  "clamp",
  "clamp a number into a range (clamp)",
  {
    name: "clamp_number",
    description: "Clamps value into [min, max]; min must not exceed max.",
    input_schema: obj({ value: { type: "number" }, min: { type: "number" }, max: { type: "number" } }),
    output_schema: obj({ result: { type: "number" } }),
    examples: [
      { input: { value: 5, min: 0, max: 10 }, output: { result: 5 } },
      { input: { value: -3, min: 0, max: 10 }, output: { result: 0 } },
      { input: { value: 12, min: 0, max: 10 }, output: { result: 10 } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ value: z.number(), min: z.number(), max: z.number() });

export default function clamp(input: unknown): { result: number } {
  const { value, min, max } = Input.parse(input);
  if (min > max) throw new Error("min exceeds max");
  if (value < min) return { result: min };
  if (value > max) return { result: max };
  return { result: value };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import clamp from "./tool.ts";

test("examples and edges", () => {
  expect(clamp({ value: 5, min: 0, max: 10 })).toEqual({ result: 5 });
  expect(clamp({ value: -3, min: 0, max: 10 })).toEqual({ result: 0 });
  expect(clamp({ value: 0, min: 0, max: 10 })).toEqual({ result: 0 });
  expect(clamp({ value: 10, min: 0, max: 10 })).toEqual({ result: 10 });
  expect(clamp({ value: 11, min: 0, max: 10 })).toEqual({ result: 10 });
  expect(clamp({ value: 3, min: 3, max: 3 })).toEqual({ result: 3 });
});

test("the result is always in range", () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer(), fc.integer(), (value, a, b) => {
      const [min, max] = a <= b ? [a, b] : [b, a];
      const { result } = clamp({ value, min, max });
      expect(result >= min && result <= max).toBe(true);
    }),
  );
});

test("abuse", () => {
  expect(() => clamp({ value: 1, min: 5, max: 0 })).toThrow();
  expect(() => clamp({ value: "1", min: 0, max: 2 })).toThrow();
});
`,
);

export const SLUGIFY = fixture(
  "slugify",
  "turn a title into a URL slug (slugify)",
  {
    name: "slugify",
    description: "Lowercases a title and joins its letter and digit runs with single dashes.",
    input_schema: obj({ title: { type: "string" } }),
    output_schema: obj({ slug: { type: "string" } }),
    examples: [
      { input: { title: "Hello World" }, output: { slug: "hello-world" } },
      { input: { title: "  Bun & TypeScript!  " }, output: { slug: "bun-typescript" } },
      { input: { title: "A--B" }, output: { slug: "a-b" } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ title: z.string() });

export default function slugify(input: unknown): { slug: string } {
  const { title } = Input.parse(input);
  const parts = title.toLowerCase().split(/[^a-z0-9]+/).filter((part) => part.length > 0);
  return { slug: parts.join("-") };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import slugify from "./tool.ts";

test("examples", () => {
  expect(slugify({ title: "Hello World" })).toEqual({ slug: "hello-world" });
  expect(slugify({ title: "  Bun & TypeScript!  " })).toEqual({ slug: "bun-typescript" });
  expect(slugify({ title: "A--B" })).toEqual({ slug: "a-b" });
  expect(slugify({ title: "" })).toEqual({ slug: "" });
  expect(slugify({ title: "x1" })).toEqual({ slug: "x1" });
});

test("a slug has only lowercase letters, digits and single inner dashes", () => {
  fc.assert(
    fc.property(fc.string(), (title) => {
      expect(slugify({ title }).slug).toMatch(/^([a-z0-9]+(-[a-z0-9]+)*)?$/);
    }),
  );
});

test("abuse", () => {
  expect(() => slugify({ title: 1 })).toThrow();
  expect(slugify({ title: "ab ".repeat(50_000) }).slug.length).toBe(50_000 * 3 - 1);
});
`,
);

export const FIZZBUZZ = fixture(
  "fizzbuzz",
  "the fizzbuzz word for a number (fizzbuzz)",
  {
    name: "fizzbuzz_word",
    description: "Fizz for multiples of 3, Buzz for 5, FizzBuzz for both, otherwise the number as text.",
    input_schema: obj({ n: { type: "integer", minimum: 1 } }),
    output_schema: obj({ word: { type: "string" } }),
    examples: [
      { input: { n: 3 }, output: { word: "Fizz" } },
      { input: { n: 10 }, output: { word: "Buzz" } },
      { input: { n: 7 }, output: { word: "7" } },
      { input: { n: 30 }, output: { word: "FizzBuzz" } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ n: z.number().int().min(1) });

export default function fizzbuzz(input: unknown): { word: string } {
  const { n } = Input.parse(input);
  if (n % 15 === 0) return { word: "FizzBuzz" };
  if (n % 3 === 0) return { word: "Fizz" };
  if (n % 5 === 0) return { word: "Buzz" };
  return { word: String(n) };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import fizzbuzz from "./tool.ts";

test("examples", () => {
  expect(fizzbuzz({ n: 3 })).toEqual({ word: "Fizz" });
  expect(fizzbuzz({ n: 5 })).toEqual({ word: "Buzz" });
  expect(fizzbuzz({ n: 15 })).toEqual({ word: "FizzBuzz" });
  expect(fizzbuzz({ n: 7 })).toEqual({ word: "7" });
  expect(fizzbuzz({ n: 1 })).toEqual({ word: "1" });
});

test("plain numbers come back as text", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100_000 }), (n) => {
      fc.pre(n % 3 !== 0 && n % 5 !== 0);
      expect(fizzbuzz({ n }).word).toBe(String(n));
    }),
  );
});

test("abuse", () => {
  expect(() => fizzbuzz({ n: 0 })).toThrow();
  expect(() => fizzbuzz({ n: 1.5 })).toThrow();
  expect(() => fizzbuzz({})).toThrow();
});
`,
);

export const SUM = fixture(
  "sumlist",
  "add up a list of numbers (sumlist)",
  {
    name: "sum_numbers",
    description: "Adds the numbers of a list; an empty list sums to 0.",
    input_schema: obj({ numbers: { type: "array", items: { type: "number" } } }),
    output_schema: obj({ sum: { type: "number" } }),
    examples: [
      { input: { numbers: [1, 2, 3] }, output: { sum: 6 } },
      { input: { numbers: [] }, output: { sum: 0 } },
      { input: { numbers: [-5, 5, 10] }, output: { sum: 10 } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ numbers: z.array(z.number()) });

export default function sum(input: unknown): { sum: number } {
  const { numbers } = Input.parse(input);
  if (numbers.length === 0) return { sum: 0 };
  let total = 0;
  for (let index = 0; index < numbers.length; index++) {
    total = total + (numbers[index] as number);
  }
  return { sum: total };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import sum from "./tool.ts";

test("examples", () => {
  expect(sum({ numbers: [1, 2, 3] })).toEqual({ sum: 6 });
  expect(sum({ numbers: [] })).toEqual({ sum: 0 });
  expect(sum({ numbers: [-5, 5, 10] })).toEqual({ sum: 10 });
  expect(sum({ numbers: [7] })).toEqual({ sum: 7 });
});

test("the sum of integers matches reduce", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1000, max: 1000 })), (numbers) => {
      expect(sum({ numbers }).sum).toBe(numbers.reduce((a, b) => a + b, 0));
    }),
  );
});

test("abuse", () => {
  expect(() => sum({ numbers: ["1"] })).toThrow();
  expect(() => sum({ numbers: null })).toThrow();
});
`,
);

export const VOWELS = fixture(
  "vowels",
  "count the vowels in a text (vowels)",
  {
    name: "vowel_count",
    description: "Counts the vowels a, e, i, o, u of a text, in either case.",
    input_schema: obj({ text: { type: "string" } }),
    output_schema: obj({ vowels: { type: "integer" } }),
    examples: [
      { input: { text: "hello" }, output: { vowels: 2 } },
      { input: { text: "AEIOU" }, output: { vowels: 5 } },
      { input: { text: "rhythm" }, output: { vowels: 0 } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ text: z.string() });

export default function vowelCount(input: unknown): { vowels: number } {
  const { text } = Input.parse(input);
  let vowels = 0;
  for (const character of text.toLowerCase()) {
    if ("aeiou".includes(character)) vowels = vowels + 1;
  }
  return { vowels };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import vowelCount from "./tool.ts";

test("examples", () => {
  expect(vowelCount({ text: "hello" })).toEqual({ vowels: 2 });
  expect(vowelCount({ text: "AEIOU" })).toEqual({ vowels: 5 });
  expect(vowelCount({ text: "rhythm" })).toEqual({ vowels: 0 });
  expect(vowelCount({ text: "" })).toEqual({ vowels: 0 });
});

test("never more vowels than characters", () => {
  fc.assert(fc.property(fc.string(), (text) => expect(vowelCount({ text }).vowels <= text.length).toBe(true)));
});

test("abuse", () => {
  expect(() => vowelCount({ text: [] })).toThrow();
  expect(vowelCount({ text: "a".repeat(200_000) })).toEqual({ vowels: 200_000 });
});
`,
);

export const PALINDROME = fixture(
  "palindrome",
  "check whether a phrase is a palindrome (palindrome)",
  {
    name: "is_palindrome",
    description: "True when the letters and digits of a phrase read the same backwards, ignoring case.",
    input_schema: obj({ phrase: { type: "string" } }),
    output_schema: obj({ palindrome: { type: "boolean" } }),
    examples: [
      { input: { phrase: "Racecar" }, output: { palindrome: true } },
      { input: { phrase: "A man, a plan, a canal: Panama" }, output: { palindrome: true } },
      { input: { phrase: "hello" }, output: { palindrome: false } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ phrase: z.string() });

export default function isPalindrome(input: unknown): { palindrome: boolean } {
  const { phrase } = Input.parse(input);
  const letters = phrase.toLowerCase().replace(/[^a-z0-9]/g, "");
  for (let left = 0, right = letters.length - 1; left < right; left += 1, right -= 1) {
    if (letters[left] !== letters[right]) return { palindrome: false };
  }
  return { palindrome: true };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import isPalindrome from "./tool.ts";

test("examples", () => {
  expect(isPalindrome({ phrase: "Racecar" })).toEqual({ palindrome: true });
  expect(isPalindrome({ phrase: "A man, a plan, a canal: Panama" })).toEqual({ palindrome: true });
  expect(isPalindrome({ phrase: "hello" })).toEqual({ palindrome: false });
  expect(isPalindrome({ phrase: "ab" })).toEqual({ palindrome: false });
  expect(isPalindrome({ phrase: "abca" })).toEqual({ palindrome: false });
  expect(isPalindrome({ phrase: "" })).toEqual({ palindrome: true });
});

test("a word followed by its reverse is a palindrome", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z]{0,20}$/), (word) => {
      expect(isPalindrome({ phrase: word + [...word].reverse().join("") }).palindrome).toBe(true);
    }),
  );
});

test("abuse", () => {
  expect(() => isPalindrome({ phrase: 1 })).toThrow();
});
`,
);

export const MAX = fixture(
  "maxlist",
  "the largest number of a list (maxlist)",
  {
    name: "max_of_list",
    description: "The largest number of a list, or null for an empty list.",
    input_schema: obj({ numbers: { type: "array", items: { type: "number" } } }),
    output_schema: obj({ max: { type: ["number", "null"] } }),
    examples: [
      { input: { numbers: [3, 9, 2] }, output: { max: 9 } },
      { input: { numbers: [] }, output: { max: null } },
      { input: { numbers: [-4, -2, -8] }, output: { max: -2 } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ numbers: z.array(z.number()) });

export default function maxOfList(input: unknown): { max: number | null } {
  const { numbers } = Input.parse(input);
  if (numbers.length === 0) return { max: null };
  let best = numbers[0] as number;
  for (const value of numbers) {
    if (value > best) best = value;
  }
  return { max: best };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import maxOfList from "./tool.ts";

test("examples", () => {
  expect(maxOfList({ numbers: [3, 9, 2] })).toEqual({ max: 9 });
  expect(maxOfList({ numbers: [] })).toEqual({ max: null });
  expect(maxOfList({ numbers: [-4, -2, -8] })).toEqual({ max: -2 });
  expect(maxOfList({ numbers: [1, 5] })).toEqual({ max: 5 });
  expect(maxOfList({ numbers: [5, 1] })).toEqual({ max: 5 });
});

test("matches Math.max", () => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { minLength: 1 }), (numbers) => {
      expect(maxOfList({ numbers }).max).toBe(Math.max(...numbers));
    }),
  );
});

test("abuse", () => {
  expect(() => maxOfList({ numbers: [1, "2"] })).toThrow();
});
`,
);

export const REVERSE = fixture(
  "reversewords",
  "reverse the order of the words of a sentence (reversewords)",
  {
    name: "reverse_words",
    description: "The words of a sentence in reverse order, joined by single spaces.",
    input_schema: obj({ sentence: { type: "string" } }),
    output_schema: obj({ reversed: { type: "string" } }),
    examples: [
      { input: { sentence: "one two three" }, output: { reversed: "three two one" } },
      { input: { sentence: "solo" }, output: { reversed: "solo" } },
      { input: { sentence: "  a   b " }, output: { reversed: "b a" } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ sentence: z.string() });

export default function reverseWords(input: unknown): { reversed: string } {
  const { sentence } = Input.parse(input);
  const words = sentence.split(" ").filter((word) => word !== "");
  return { reversed: words.reverse().join(" ") };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import reverseWords from "./tool.ts";

test("examples", () => {
  expect(reverseWords({ sentence: "one two three" })).toEqual({ reversed: "three two one" });
  expect(reverseWords({ sentence: "solo" })).toEqual({ reversed: "solo" });
  expect(reverseWords({ sentence: "  a   b " })).toEqual({ reversed: "b a" });
  expect(reverseWords({ sentence: "" })).toEqual({ reversed: "" });
});

test("reversing twice gives the words back", () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z]{1,5}$/)), (words) => {
      const once = reverseWords({ sentence: words.join(" ") }).reversed;
      expect(reverseWords({ sentence: once }).reversed).toBe(words.join(" "));
    }),
  );
});

test("abuse", () => {
  expect(() => reverseWords({ sentence: null })).toThrow();
});
`,
);

export const CELSIUS = fixture(
  "celsius",
  "convert Celsius to Fahrenheit (celsius)",
  {
    name: "celsius_to_fahrenheit",
    description: "Converts a temperature in degrees Celsius to degrees Fahrenheit.",
    input_schema: obj({ celsius: { type: "number" } }),
    output_schema: obj({ fahrenheit: { type: "number" } }),
    examples: [
      { input: { celsius: 0 }, output: { fahrenheit: 32 } },
      { input: { celsius: 100 }, output: { fahrenheit: 212 } },
      { input: { celsius: -40 }, output: { fahrenheit: -40 } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ celsius: z.number() });

export default function celsiusToFahrenheit(input: unknown): { fahrenheit: number } {
  const { celsius } = Input.parse(input);
  return { fahrenheit: (celsius * 9) / 5 + 32 };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import convert from "./tool.ts";

test("examples", () => {
  expect(convert({ celsius: 0 })).toEqual({ fahrenheit: 32 });
  expect(convert({ celsius: 100 })).toEqual({ fahrenheit: 212 });
  expect(convert({ celsius: -40 })).toEqual({ fahrenheit: -40 });
  expect(convert({ celsius: 10 })).toEqual({ fahrenheit: 50 });
});

test("one degree Celsius is 1.8 degrees Fahrenheit", () => {
  fc.assert(
    fc.property(fc.integer({ min: -1000, max: 1000 }), (celsius) => {
      expect(convert({ celsius: celsius + 5 }).fahrenheit - convert({ celsius }).fahrenheit).toBeCloseTo(9);
    }),
  );
});

test("abuse", () => {
  expect(() => convert({ celsius: "hot" })).toThrow();
});
`,
);

export const SPLIT_LINES = fixture(
  "splitlines",
  "split a text into its lines (splitlines)",
  {
    name: "split_lines",
    description: "Splits a text into its lines, at \\n or \\r\\n; a last empty line is no line, and an empty text has none.",
    input_schema: obj({ text: { type: "string" } }),
    output_schema: obj({ lines: { type: "array", items: { type: "string" } } }),
    examples: [
      { input: { text: "one two\nthree" }, output: { lines: ["one two", "three"] } },
      { input: { text: "" }, output: { lines: [] } },
      { input: { text: "a\r\nb\n" }, output: { lines: ["a", "b"] } },
    ],
  },
  `import { z } from "zod";

const Input = z.object({ text: z.string() });

export default function splitLines(input: unknown): { lines: string[] } {
  const { text } = Input.parse(input);
  if (text === "") return { lines: [] };
  const lines = text.split(/\\r?\\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return { lines };
}
`,
  `import { expect, test } from "bun:test";
import fc from "fast-check";
import splitLines from "./tool.ts";

test("examples", () => {
  expect(splitLines({ text: "one two\\nthree" })).toEqual({ lines: ["one two", "three"] });
  expect(splitLines({ text: "" })).toEqual({ lines: [] });
  expect(splitLines({ text: "a\\r\\nb\\n" })).toEqual({ lines: ["a", "b"] });
  expect(splitLines({ text: "solo" })).toEqual({ lines: ["solo"] });
  expect(splitLines({ text: "x\\n\\ny" })).toEqual({ lines: ["x", "", "y"] });
  expect(splitLines({ text: "\\n" })).toEqual({ lines: [""] });
});

test("lines joined by newlines come back", () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z ]{1,8}$/), { maxLength: 20 }), (lines) => {
      expect(splitLines({ text: lines.join("\\n") }).lines).toEqual(lines);
      expect(splitLines({ text: lines.join("\\r\\n") }).lines).toEqual(lines);
    }),
  );
});

test("abuse", () => {
  expect(() => splitLines({ text: 5 })).toThrow();
  expect(() => splitLines(null)).toThrow();
});
`,
);

/** The eleven goals of the fixture table. */
export const TOOL_FIXTURES: readonly ToolFixture[] = [
  WORD_COUNT,
  CLAMP,
  SLUGIFY,
  FIZZBUZZ,
  SUM,
  VOWELS,
  PALINDROME,
  MAX,
  REVERSE,
  CELSIUS,
  SPLIT_LINES,
];

/** One phase answer: the tool the model calls and its arguments. */
const call = (name: string, args: Record<string, unknown>) => ({ toolCalls: [{ name, arguments: args }] });

/**
 * Scripted-server rules that play the toolsmith for one goal: the spec, then each implementation in turn (the
 * last one repeats), then each test file in turn. Rules match the offered tool and the goal's key word.
 */
export function toolsmithRules(
  fixture: ToolFixture,
  answers: { specs?: Record<string, unknown>[]; tools?: string[]; tests?: string[]; embedded?: boolean } = {},
): ScriptInput["rules"] {
  const specs = answers.specs ?? [fixture.spec];
  const tools = answers.tools ?? [fixture.tool];
  const tests = answers.tests ?? [fixture.tests];
  const reply = (name: string, args: Record<string, unknown>) =>
    answers.embedded ? { ...call(name, args), embedded: "hermes" as const } : call(name, args);
  // The goal ends with "(key)"; every phase prompt repeats the goal. A spec sent back is answered by the next spec.
  const goal = `\\(${fixture.key}\\)`;
  const sequence = (tool: string, values: unknown[], field: (value: unknown) => Record<string, unknown>, again?: string) =>
    values.map((value, index) => ({
      when: { tool, lastMessage: index > 0 && again ? again : goal, ...(index < values.length - 1 ? { times: 1 } : {}) },
      reply: reply(tool, field(value)),
    }));
  return [
    ...sequence("submit_spec", specs, (spec) => spec as Record<string, unknown>, "call submit_spec again"),
    ...sequence("submit_implementation", tools, (code) => ({ code })),
    ...sequence("submit_tests", tests, (code) => ({ code })),
  ];
}
