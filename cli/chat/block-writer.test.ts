import { expect, test } from "bun:test";
import { createAnsi, type TerminalText } from "../terminal/ansi.ts";
import { type Block, createBlockWriter, emptyBlock } from "./block-writer.ts";

function writer(columns?: number) {
  let output = "";
  const parts = createBlockWriter({
    ansi: createAnsi(false),
    out: (_block: Block, text: TerminalText) => {
      output += text;
    },
    personaStyle: () => "cyan",
    nameWidth: () => 6,
    columns: columns === undefined ? undefined : () => columns,
  });
  return { ...parts, output: () => output };
}

test("every line of a block, blank ones too, is under the speaker's padded prefix", () => {
  const w = writer();
  const block = emptyBlock("agent", false);
  w.stream(block, "one\n\ntwo", "text");
  w.endLine(block);
  expect(w.output()).toBe("agent  │ one\nagent  │ \nagent  │ two\n");
});

test("a streamed word that may go on waits for the next piece and is wrapped whole", () => {
  const w = writer(20);
  const block = emptyBlock("agent", false);
  w.stream(block, "alpha be", "text");
  expect(w.output()).toBe("agent  │ alpha ");
  w.stream(block, "ta gamma", "text");
  w.endLine(block);
  expect(w.output()).toBe("agent  │ alpha beta \nagent  │ gamma\n");
});

test("reasoning gets its own bar and a new line; a line of its own ends what streamed", () => {
  const w = writer();
  const block = emptyBlock("py", false);
  w.stream(block, "thinking", "reasoning");
  w.stream(block, "answer", "text");
  w.line(block, "✓ done", "dim");
  expect(w.output()).toBe("py     ┊ thinking\npy     │ answer\npy     │ ✓ done\n");
});

test("text from outside is sanitized before it is written", () => {
  const w = writer();
  const block = emptyBlock("agent", false);
  w.line(block, "a\x1b]0;title\x07b");
  expect(w.output()).not.toContain("\x1b");
});
