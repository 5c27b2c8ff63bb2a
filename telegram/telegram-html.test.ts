import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseTelegramHtml } from "../testing/telegram-html-parser.ts";
import { escapeHtml, htmlParts, textLines } from "./telegram-html.ts";

// Whatever a model writes becomes HTML Telegram takes (checked with the stand-in's parser of Telegram's HTML mode), in
// parts under its limit, losing nothing and showing no markup of the model's.

/** The text a reader sees of `text`'s lines: fences gone, inline `code` and **bold** without their markers (outside code blocks). */
function shown(text: string): string[] {
  const plain = (line: string) => line.replace(/`([^`\n]+)`/g, "$1").replace(/\*\*([^*\n]+)\*\*/g, "$1");
  return textLines(text).map((line) => (line.kind === "code" ? line.text : plain(line.text)));
}

const piece = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "<b>",
    "</pre>",
    '</code></pre><a href="javascript:alert(1)">x</a>',
    "&amp;",
    "&",
    "<",
    ">",
    '"',
    "\n",
    "```",
    "```js\n",
    "`x`",
    "**bold**",
    "é漢🙂",
  ),
);
const modelText = fc.array(piece, { maxLength: 120 }).map((pieces) => pieces.join(""));

describe("Telegram HTML parts", () => {
  test("any text: every part parses as Telegram's HTML, fits the limit, and the parts hold every line in order", () => {
    fc.assert(
      fc.property(modelText, fc.integer({ min: 40, max: 400 }), (text, limit) => {
        const parts = htmlParts(textLines(text), { limit, continued: "agent (continued)" });
        const seen: string[] = [];
        for (const [index, part] of parts.entries()) {
          const parsed = parseTelegramHtml(part);
          expect(parsed.text.length).toBeLessThanOrEqual(limit);
          // A part of white space alone is sent as "…" (Telegram refuses an empty message).
          const lines = part === "…" ? [] : parsed.text.split("\n");
          seen.push(...(index > 0 ? lines.slice(1) : lines));
        }
        const expected = shown(text);
        // Compared without white space and the inline markers: a line longer than a part is cut where the part ends,
        // and a `code` or **bold** cut so is shown as written.
        const bare = (lines: string[]) => lines.join("").replace(/[\s`*]+/g, "");
        expect(bare(seen)).toBe(bare(expected));
      }),
      { numRuns: 300 },
    );
  });

  test("a model's markup is text: no tag of its own reaches Telegram", () => {
    const hostile = '<a href="tg://user?id=1">me</a> <b>x</b> </code></pre><tg-spoiler>s</tg-spoiler> &lt;';
    const [part] = htmlParts(textLines(hostile));
    const parsed = parseTelegramHtml(part ?? "");
    expect(parsed.tags).toEqual([]);
    expect(parsed.text).toBe(hostile);
    expect(escapeHtml(`a<b>&"c"`)).toBe("a&lt;b&gt;&amp;&quot;c&quot;");
  });

  test("a code block cut by the limit is closed in one part and opened again, with its language, in the next", () => {
    const text = ["before", "```typescript", ...Array.from({ length: 30 }, (_, index) => `const value${index} = ${index};`), "```", "after"].join(
      "\n",
    );
    const parts = htmlParts(textLines(text), { limit: 300, continued: "agent (continued)" });
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts.slice(0, -1)) expect(part.endsWith("</code></pre>")).toBe(true);
    for (const part of parts.slice(1)) expect(part).toContain('<pre><code class="language-typescript">');
    expect(parts.at(-1)?.endsWith("after")).toBe(true);
  });

  test("a part once full does not change as more text comes (edits stay on the last parts)", () => {
    const line = "a line of a long streamed reply, words and more words";
    let text = "";
    let before: string[] = [];
    for (let index = 0; index < 60; index++) {
      text += `${line} ${index}\n`;
      const parts = htmlParts(textLines(text), { limit: 500 });
      for (let kept = 0; kept < before.length - 1; kept++) expect(parts[kept]).toBe(before[kept] as string);
      before = parts;
    }
  });
});
