/** One key press (or pasted block) read from a terminal in raw mode. */
export type Key =
  | { type: "text"; text: string }
  /** Text from a bracketed paste: newlines in it are kept, never submitted. */
  | { type: "paste"; text: string }
  | {
      type:
        | "enter"
        | "alt-enter"
        | "backspace"
        | "delete"
        | "left"
        | "right"
        | "word-left"
        | "word-right"
        | "up"
        | "down"
        | "home"
        | "end"
        | "kill-before"
        | "kill-after"
        | "kill-word"
        | "interrupt"
        | "eof"
        | "clear-screen"
        | "tab";
    };

export const PASTE_START = "\x1b[200~";
export const PASTE_END = "\x1b[201~";

const CONTROL_KEYS: Record<string, Key> = {
  "\r": { type: "enter" },
  "\n": { type: "enter" },
  "\x7f": { type: "backspace" },
  "\b": { type: "backspace" },
  "\t": { type: "tab" },
  "\x01": { type: "home" },
  "\x02": { type: "left" },
  "\x03": { type: "interrupt" },
  "\x04": { type: "eof" },
  "\x05": { type: "end" },
  "\x06": { type: "right" },
  "\x0b": { type: "kill-after" },
  "\x0c": { type: "clear-screen" },
  "\x0e": { type: "down" },
  "\x10": { type: "up" },
  "\x15": { type: "kill-before" },
  "\x17": { type: "kill-word" },
};

/** A key that is not text: its name. */
type KeyName = Exclude<Key["type"], "text" | "paste">;

// The arrows, Home and End end in the same letter whether the terminal sends them as CSI (ESC [) or, in
// application cursor mode, as SS3 (ESC O).
const CURSOR_KEYS: Record<string, KeyName> = { A: "up", B: "down", C: "right", D: "left", H: "home", F: "end" };

// The other sequences by their text after ESC: vt-style Home/End/Delete, Ctrl- and Alt-arrows, Alt + a key.
const OTHER_ESCAPE_KEYS: Record<string, KeyName> = {
  "[1~": "home",
  "[7~": "home",
  "[4~": "end",
  "[8~": "end",
  "[3~": "delete",
  "[1;5C": "word-right",
  "[1;5D": "word-left",
  "[1;3C": "word-right",
  "[1;3D": "word-left",
  b: "word-left",
  f: "word-right",
  "\r": "alt-enter",
  "\n": "alt-enter",
  "\x7f": "kill-word",
};

// CSI / SS3 sequences by their text after ESC.
const ESCAPE_KEYS = new Map<string, Key>([
  ...Object.entries(CURSOR_KEYS).flatMap(([final, type]) => [`[${final}`, `O${final}`].map((body): [string, Key] => [body, { type }])),
  ...Object.entries(OTHER_ESCAPE_KEYS).map(([body, type]): [string, Key] => [body, { type }]),
]);

/**
 * Turns raw terminal input into keys. Keeps state between chunks because a bracketed paste or an escape
 * sequence can be split across reads.
 */
export class KeyDecoder {
  private pending = "";
  private pasting: string | undefined;

  feed(chunk: string): Key[] {
    const keys: Key[] = [];
    let input = this.pending + chunk;
    this.pending = "";
    let text = "";
    const flushText = () => {
      if (text) keys.push({ type: "text", text });
      text = "";
    };
    while (input.length > 0) {
      if (this.pasting !== undefined) {
        const end = input.indexOf(PASTE_END);
        if (end === -1) {
          // Keep a possibly split end marker for the next chunk.
          const keep = partialSuffix(input, PASTE_END);
          this.pasting += input.slice(0, input.length - keep);
          this.pending = input.slice(input.length - keep);
          return keys;
        }
        this.pasting += input.slice(0, end);
        keys.push({ type: "paste", text: this.pasting.replace(/\r\n?/g, "\n") });
        this.pasting = undefined;
        input = input.slice(end + PASTE_END.length);
        continue;
      }
      const char = input.charAt(0);
      if (char === "\x1b") {
        flushText();
        if (input.startsWith(PASTE_START)) {
          this.pasting = "";
          input = input.slice(PASTE_START.length);
          continue;
        }
        const sequence = escapeSequenceLength(input);
        if (sequence === undefined) {
          // An incomplete sequence at the end of the chunk: wait for the rest.
          this.pending = input;
          return keys;
        }
        const body = input.slice(1, sequence);
        const key = ESCAPE_KEYS.get(body);
        if (key) keys.push(key);
        input = input.slice(sequence);
        continue;
      }
      const control = CONTROL_KEYS[char];
      if (control) {
        flushText();
        // A terminal sends Enter as \r; \r\n from a pipe is one Enter, not two.
        if (char === "\r" && input[1] === "\n") input = input.slice(1);
        keys.push(control);
        input = input.slice(1);
        continue;
      }
      if (char < " ") {
        input = input.slice(1);
        continue;
      }
      text += char;
      input = input.slice(1);
    }
    flushText();
    return keys;
  }

  /** A lone ESC left pending (the user pressed Escape): drop it. */
  flush(): Key[] {
    this.pending = "";
    return [];
  }
}

/** Length of the escape sequence at the start of `input`, or undefined when it is cut off. */
function escapeSequenceLength(input: string): number | undefined {
  if (input.length < 2) return undefined;
  const second = input.charAt(1);
  if (second === "[") {
    for (let index = 2; index < input.length; index += 1) {
      const code = input.charCodeAt(index);
      if (code >= 0x40 && code <= 0x7e) return index + 1;
    }
    return undefined;
  }
  if (second === "O") return input.length >= 3 ? 3 : undefined;
  return 2; // Alt + key
}

/** How many characters at the end of `text` are the start of `marker`. */
function partialSuffix(text: string, marker: string): number {
  for (let length = Math.min(marker.length - 1, text.length); length > 0; length -= 1) {
    if (text.endsWith(marker.slice(0, length))) return length;
  }
  return 0;
}
