import { expect, test } from "bun:test";
import { markdownBlocks } from "./markdown-blocks.ts";

test("Markdown is cut at blank lines, never inside fenced code; a growing text changes only its last block", () => {
  const text = "# Title\n\nA paragraph\non two lines.\n\n\n- a\n- b\n\n```ts\nconst a = 1;\n\nconst b = 2;\n```\n\n~~~\n```\n\n~~~\n\nend";
  expect(markdownBlocks(text)).toEqual([
    "# Title",
    "A paragraph\non two lines.",
    "- a\n- b",
    "```ts\nconst a = 1;\n\nconst b = 2;\n```",
    "~~~\n```\n\n~~~",
    "end",
  ]);
  // Streamed a character at a time, every block but the last is already what it will be.
  const final = markdownBlocks(text);
  for (let length = 1; length <= text.length; length += 1) {
    const blocks = markdownBlocks(text.slice(0, length));
    expect(blocks.slice(0, -1)).toEqual(final.slice(0, blocks.length - 1));
  }
  expect(markdownBlocks("")).toEqual([]);
  expect(markdownBlocks("\n\n")).toEqual([]);
});
