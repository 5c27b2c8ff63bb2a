import { describe, expect, test } from "bun:test";
import { type Key, KeyDecoder } from "./key-decoder.ts";
import { applyKey, type EditOutcome, type EditState, initialEditState, layoutInput } from "./line-editing.ts";

/** Feeds raw terminal bytes through the real decoder and editing logic; returns the state and outcomes. */
function type(raw: string | string[], history: string[] = []): { state: EditState; outcomes: EditOutcome[] } {
  const decoder = new KeyDecoder();
  let state = initialEditState(history);
  const outcomes: EditOutcome[] = [];
  for (const chunk of Array.isArray(raw) ? raw : [raw]) {
    for (const key of decoder.feed(chunk)) {
      const next = applyKey(state, key);
      state = next.state;
      if (next.outcome.type !== "edit") outcomes.push(next.outcome);
    }
  }
  return { state, outcomes };
}

describe("KeyDecoder", () => {
  test("text, Enter and control keys", () => {
    const keys = new KeyDecoder().feed("hi\r\x7f\x03\x04");
    expect(keys).toEqual<Key[]>([{ type: "text", text: "hi" }, { type: "enter" }, { type: "backspace" }, { type: "interrupt" }, { type: "eof" }]);
  });

  test("arrow keys in CSI and SS3 form, and an escape sequence split across reads", () => {
    const decoder = new KeyDecoder();
    expect(decoder.feed("\x1b[A\x1bOB\x1b")).toEqual<Key[]>([{ type: "up" }, { type: "down" }]);
    expect(decoder.feed("[3~x")).toEqual<Key[]>([{ type: "delete" }, { type: "text", text: "x" }]);
  });

  test("a bracketed paste keeps its newlines and may arrive in pieces", () => {
    const decoder = new KeyDecoder();
    expect(decoder.feed("\x1b[200~line one\r\nline")).toEqual([]);
    expect(decoder.feed(" two\x1b[20")).toEqual([]);
    expect(decoder.feed("1~\r")).toEqual<Key[]>([{ type: "paste", text: "line one\nline two" }, { type: "enter" }]);
  });

  test("Alt-Enter, and unknown sequences are dropped", () => {
    expect(new KeyDecoder().feed("\x1b\r\x1b[15~a")).toEqual<Key[]>([{ type: "alt-enter" }, { type: "text", text: "a" }]);
  });
});

describe("applyKey", () => {
  test("Enter submits what was typed", () => {
    expect(type("hello world\r").outcomes).toEqual([{ type: "submit", text: "hello world" }]);
  });

  test("left, right, home, end, backspace and delete edit in the middle", () => {
    // "helo" ← ← insert "l" → "hello"; Home, Delete → "ello"; End, Backspace → "ell"
    const { state } = type("helo\x1b[D\x1b[Dl\x1b[H\x1b[3~\x1b[F\x7f");
    expect(state.text).toBe("ell");
    expect(state.cursor).toBe(3);
  });

  test("trailing backslash and Alt-Enter continue on a new line; Enter then submits all lines", () => {
    expect(type("first \\\rsecond\x1b\rthird\r").outcomes).toEqual([{ type: "submit", text: "first \nsecond\nthird" }]);
  });

  test("a backslash that is not at the end is ordinary text", () => {
    expect(type("a\\b\r").outcomes).toEqual([{ type: "submit", text: "a\\b" }]);
  });

  test("up and down walk the history and come back to the draft", () => {
    const history = ["one", "two"];
    expect(type("dr\x1b[A", history).state.text).toBe("two");
    expect(type("dr\x1b[A\x1b[A\x1b[A", history).state.text).toBe("one");
    expect(type("dr\x1b[A\x1b[A\x1b[B\x1b[B", history).state.text).toBe("dr");
    expect(type("\x1b[A\r", history).outcomes).toEqual([{ type: "submit", text: "two" }]);
  });

  test("up inside multi-line text moves between lines before it reaches history", () => {
    const { state } = type("abc\x1b\rde\x1b[A", ["older"]);
    expect(state.text).toBe("abc\nde");
    expect(state.cursor).toBe(2);
  });

  test("Ctrl-C is reported; Ctrl-D ends only an empty line", () => {
    expect(type("abc\x03").outcomes).toEqual([{ type: "interrupt" }]);
    expect(type("\x04").outcomes).toEqual([{ type: "eof" }]);
    expect(type("ab\x01\x04").state.text).toBe("b");
  });

  test("Tab asks the completer about the text before the cursor", () => {
    let state = initialEditState();
    for (const key of new KeyDecoder().feed("/he\t")) state = applyKey(state, key, (before) => (before === "/he" ? "lp " : undefined)).state;
    expect(state.text).toBe("/help ");
    expect(applyKey(initialEditState(), { type: "tab" }).state.text).toBe("  ");
  });

  test("Ctrl-W deletes the previous word, Ctrl-U the line before the cursor", () => {
    expect(type("run the tests\x17").state.text).toBe("run the ");
    expect(type("run the tests\x15").state.text).toBe("");
  });
});

describe("layoutInput", () => {
  test("places the cursor after the prompt", () => {
    const layout = layoutInput("> ", "… ", "hello", 5, 80);
    expect(layout).toEqual({ output: "> hello", rows: 1, cursorRow: 0, cursorColumn: 7 });
  });

  test("wraps long lines and counts continuation lines", () => {
    const layout = layoutInput("> ", ". ", "abcdefgh\nxy", 3, 5);
    // "> abcdefgh" is 10 wide on 5 columns: exactly two rows, then a forced wrap row; then ". xy".
    expect(layout.rows).toBe(4);
    expect(layout.cursorRow).toBe(1);
    expect(layout.cursorColumn).toBe(0);
    expect(layout.output).toBe("> abcdefgh \r\r\n. xy");
  });

  test("ignores colour codes in the prompt when measuring", () => {
    expect(layoutInput("\x1b[1m>\x1b[0m ", "", "a", 1, 80).cursorColumn).toBe(3);
  });
});
