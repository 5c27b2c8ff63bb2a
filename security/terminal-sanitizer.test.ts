import { expect, test } from "bun:test";
import fc from "fast-check";
import { sanitizeForTerminal, oneLine } from "./terminal-sanitizer.ts";

test("escape sequences, C0, DEL, C1 and bidi controls become visible escapes", () => {
  expect(sanitizeForTerminal("\x1b]0;pwned\x07title")).toBe("\\x1b]0;pwned\\x07title");
  expect(sanitizeForTerminal("\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x1b\\")).toBe("\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x1b\\");
  expect(sanitizeForTerminal("\x1b[2K\ragent │ ok")).toBe("\\x1b[2K\\x0dagent │ ok");
  expect(sanitizeForTerminal("\u009b2K\u009d0;t\u009c")).toBe("\\u009b2K\\u009d0;t\\u009c");
  expect(sanitizeForTerminal("a\x08b\x7fc\x00")).toBe("a\\x08b\\x7fc\\x00");
  expect(sanitizeForTerminal("ls \u202ehs.txt\u202c \u2066x\u2069 \u200e\u200f\u061c")).toBe(
    "ls \\u202ehs.txt\\u202c \\u2066x\\u2069 \\u200e\\u200f\\u061c",
  );
});

test("newlines, tabs, Windows line ends and ordinary text (any script, emoji) pass as they are", () => {
  expect(sanitizeForTerminal("one\n\ttwo\r\nthree")).toBe("one\n\ttwo\nthree");
  expect(sanitizeForTerminal("héllo — 日本語 ✓ 🙂 ½")).toBe("héllo — 日本語 ✓ 🙂 ½");
});

test("property: nothing a terminal acts on survives, and safe text is unchanged", () => {
  const unsafe = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      const shown = sanitizeForTerminal(text);
      expect(unsafe.test(shown)).toBe(false);
      if (!unsafe.test(text)) expect(shown).toBe(text);
    }),
    { numRuns: 500 },
  );
});

test("one line: white space of every kind one space, bidi, invisible and other controls visible escapes, then the cap", () => {
  expect(oneLine("Counts words.\nword_count  promoted  fake line\r\n\u2028next\u0085\t")).toBe("Counts words. word_count promoted fake line next");
  expect(oneLine("ls \u202ehs.txt \x1b[31mred r\u200bm")).toBe("ls \\u202ehs.txt \\x1b[31mred r\\u200bm");
  expect(oneLine("abcdef", 4)).toBe("abc…");
  expect(oneLine("ab  cdef", 4)).toBe("ab…");
  // A huge text is read only as far as its cap needs, and still says it was cut.
  expect(oneLine(`a${" ".repeat(100)}b`, 4)).toBe("a…");
  expect(oneLine("x".repeat(1_000_000), 10)).toBe(`${"x".repeat(9)}…`);
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      expect(/[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\u2028\u2029\ufeff]/.test(oneLine(text))).toBe(false);
      expect(oneLine(text, 20).length).toBeLessThanOrEqual(20);
    }),
    { numRuns: 300 },
  );
});
