import type { Key } from "./key-decoder.ts";

/** The text being edited (may hold newlines), the cursor as an index into it, and the history walk. */
export type EditState = {
  text: string;
  cursor: number;
  /** Earlier entries, oldest first. */
  history: readonly string[];
  /** Which history entry is shown; `history.length` means the user's own draft. */
  historyIndex: number;
  /** What the user had typed before walking into history. */
  draft: string;
};

/** What a key press asks of the caller besides a new state. */
export type EditOutcome = { type: "edit" } | { type: "submit"; text: string } | { type: "interrupt" } | { type: "eof" } | { type: "clear-screen" };

export function initialEditState(history: readonly string[] = []): EditState {
  return { text: "", cursor: 0, history, historyIndex: history.length, draft: "" };
}

/** Applies one key to the state. Pure: the editor's terminal side only renders what this returns. */
export function applyKey(
  state: EditState,
  key: Key,
  /** Tab completion: given the text before the cursor, what to insert there (undefined: nothing). */
  complete?: (before: string) => string | undefined,
): { state: EditState; outcome: EditOutcome } {
  const edit = (next: Partial<EditState>) => ({ state: { ...state, ...next }, outcome: { type: "edit" } as const });
  const { text, cursor } = state;
  switch (key.type) {
    case "text":
    case "paste":
      return edit(insert(state, key.text));
    case "tab": {
      if (!complete) return edit(insert(state, "  "));
      const completion = complete(text.slice(0, cursor));
      return edit(completion ? insert(state, completion) : {});
    }
    case "alt-enter":
      return edit(insert(state, "\n"));
    case "enter":
      // A trailing backslash continues the input on a new line, as in a shell.
      if (cursor === text.length && text.endsWith("\\")) {
        return edit({ text: `${text.slice(0, -1)}\n`, cursor: text.length });
      }
      return { state, outcome: { type: "submit", text } };
    case "backspace":
      if (cursor === 0) return edit({});
      return edit({ text: text.slice(0, cursor - 1) + text.slice(cursor), cursor: cursor - 1 });
    case "delete":
      return edit({ text: text.slice(0, cursor) + text.slice(cursor + 1) });
    case "left":
      return edit({ cursor: Math.max(0, cursor - 1) });
    case "right":
      return edit({ cursor: Math.min(text.length, cursor + 1) });
    case "word-left":
      return edit({ cursor: previousWordStart(text, cursor) });
    case "word-right":
      return edit({ cursor: nextWordEnd(text, cursor) });
    case "home":
      return edit({ cursor: lineStart(text, cursor) });
    case "end":
      return edit({ cursor: lineEnd(text, cursor) });
    case "kill-before": {
      const start = lineStart(text, cursor);
      return edit({ text: text.slice(0, start) + text.slice(cursor), cursor: start });
    }
    case "kill-after":
      return edit({ text: text.slice(0, cursor) + text.slice(lineEnd(text, cursor)) });
    case "kill-word": {
      const start = previousWordStart(text, cursor);
      return edit({ text: text.slice(0, start) + text.slice(cursor), cursor: start });
    }
    case "up": {
      const start = lineStart(text, cursor);
      if (start > 0) return edit({ cursor: moveToLine(text, cursor, lineStart(text, start - 1)) });
      return edit(showHistory(state, state.historyIndex - 1));
    }
    case "down": {
      const end = lineEnd(text, cursor);
      if (end < text.length) return edit({ cursor: moveToLine(text, cursor, end + 1) });
      return edit(showHistory(state, state.historyIndex + 1));
    }
    case "interrupt":
      return { state, outcome: { type: "interrupt" } };
    case "eof":
      // Ctrl-D ends input only on an empty line; otherwise it deletes forward like readline.
      if (text === "") return { state, outcome: { type: "eof" } };
      return edit({ text: text.slice(0, cursor) + text.slice(cursor + 1) });
    case "clear-screen":
      return { state, outcome: { type: "clear-screen" } };
  }
}

function insert(state: EditState, inserted: string): Partial<EditState> {
  const { text, cursor } = state;
  return { text: text.slice(0, cursor) + inserted + text.slice(cursor), cursor: cursor + inserted.length };
}

function showHistory(state: EditState, index: number): Partial<EditState> {
  if (index < 0 || index > state.history.length) return {};
  // Leaving the draft row remembers what was typed there; coming back restores it.
  const draft = state.historyIndex === state.history.length ? state.text : state.draft;
  const text = index === state.history.length ? draft : (state.history[index] ?? "");
  return { text, cursor: text.length, historyIndex: index, draft };
}

function lineStart(text: string, cursor: number): number {
  return text.lastIndexOf("\n", cursor - 1) + 1;
}

function lineEnd(text: string, cursor: number): number {
  const end = text.indexOf("\n", cursor);
  return end === -1 ? text.length : end;
}

/** Keeps the column when moving to the line that starts at `targetStart`, clamped to its length. */
function moveToLine(text: string, cursor: number, targetStart: number): number {
  const column = cursor - lineStart(text, cursor);
  return Math.min(targetStart + column, lineEnd(text, targetStart));
}

function previousWordStart(text: string, cursor: number): number {
  let index = cursor;
  while (index > 0 && /\s/.test(text.charAt(index - 1))) index -= 1;
  while (index > 0 && !/\s/.test(text.charAt(index - 1))) index -= 1;
  return index;
}

function nextWordEnd(text: string, cursor: number): number {
  let index = cursor;
  while (index < text.length && /\s/.test(text.charAt(index))) index += 1;
  while (index < text.length && !/\s/.test(text.charAt(index))) index += 1;
  return index;
}

/** Where the editor's text lands on screen: what to write, and rows/columns of the end and the cursor. */
export type Layout = { output: string; rows: number; cursorRow: number; cursorColumn: number };

/**
 * Lays out prompt + text for a terminal `columns` wide. Continuation lines get `continuation` as prompt.
 * A line that exactly fills the width is followed by " \r" so the terminal really wraps; rows are then
 * `floor(width / columns) + 1` for every line, with no pending-wrap ambiguity.
 */
export function layoutInput(
  prompt: string,
  continuation: string,
  text: string,
  cursor: number,
  columns: number,
  width: (value: string) => number = (value) => value.length,
): Layout {
  const lines = text.split("\n");
  const columnsSafe = Math.max(1, columns);
  let output = "";
  let rows = 0;
  let cursorRow = 0;
  let cursorColumn = 0;
  let offset = 0;
  lines.forEach((line, index) => {
    const lead = index === 0 ? prompt : continuation;
    const leadWidth = width(stripAnsi(lead));
    const lineWidth = leadWidth + width(line);
    if (cursor >= offset && cursor <= offset + line.length) {
      const x = leadWidth + width(line.slice(0, cursor - offset));
      cursorRow = rows + Math.floor(x / columnsSafe);
      cursorColumn = x % columnsSafe;
    }
    output += lead + line;
    if (lineWidth > 0 && lineWidth % columnsSafe === 0) output += " \r";
    if (index < lines.length - 1) output += "\r\n";
    rows += Math.floor(lineWidth / columnsSafe) + 1;
    offset += line.length + 1;
  });
  return { output, rows, cursorRow, cursorColumn };
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(value: string): string {
  return value.replace(ANSI, "");
}
