import type { Ansi, TerminalText } from "../terminal/ansi.ts";

/** The one write point of a console: nothing reaches `write` but TerminalText, which only the ANSI helper makes. */
export type ConsoleScreen = {
  /** Writes, or holds while a question is open; clears the status line first. */
  toTerminal(text: TerminalText): void;
  /** Writes past the hold (a question's own lines). */
  direct(text: TerminalText): void;
  /** Replaces the status line (the spinner) with `text`. */
  showStatus(text: TerminalText): void;
  clearStatus(): void;
  /** Whether a question holds the output now. */
  readonly holding: boolean;
  /** Starts holding output (a no-op while holding). */
  hold(): void;
  /** Stops holding; the held output follows on a fresh line. */
  release(): void;
  /** Whether the last stretch written ends with `text` (or, for "", ends a line or is empty). */
  endsWith(text: string): boolean;
  /** Whether anything was written since the last release. */
  readonly wroteSomething: boolean;
};

export function createConsoleScreen(write: (text: string) => void, ansi: Ansi): ConsoleScreen {
  let statusShown = false;
  // While a question is open, what would have been written waits here.
  let held: TerminalText[] | undefined;
  // The last stretch written, to know whether a call's ⚙ line is already right above its question.
  let recent = "";
  const clearStatus = () => {
    if (statusShown) {
      write(ansi.clearLine);
      statusShown = false;
    }
  };
  const direct = (text: TerminalText) => {
    write(text);
    recent = (recent + text).slice(-4096);
  };
  const toTerminal = (text: TerminalText) => {
    if (held) {
      held.push(text);
      return;
    }
    clearStatus();
    direct(text);
  };
  return {
    toTerminal,
    direct,
    clearStatus,
    showStatus(text) {
      write(ansi.join(ansi.clearLine, text));
      statusShown = true;
    },
    get holding() {
      return held !== undefined;
    },
    hold() {
      held ??= [];
    },
    release() {
      const flushed = held ?? [];
      held = undefined;
      // What the line editor echoed ends with the answer's newline, so the held output starts on a fresh line.
      recent = "";
      if (flushed.length > 0) toTerminal(ansi.join(...flushed));
    },
    endsWith: (text) => recent.endsWith(text),
    get wroteSomething() {
      return recent !== "";
    },
  };
}
