// A tolerant reader for the values models write: JSON, and Python literals (single quotes, True/False/None,
// tuples, trailing commas, raw newlines inside strings). It never throws and stays linear on adversarial input:
// every container start that failed is remembered (a value at a position parses the same way whoever asks),
// nesting is capped, and a work budget proportional to the text length ends all reading once spent.
export type Literal = null | boolean | number | string | Literal[] | { [key: string]: Literal };
export type LiteralRead = { value: Literal; end: number };

const MAX_DEPTH = 100;
const WORK_PER_CHAR = 24;
const WORK_FLOOR = 1 << 20;

const SIMPLE_ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  b: "\b",
  f: "\f",
  v: "\v",
  "0": "\0",
  "/": "/",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "\n": "",
};

const KEYWORDS: [string, Literal][] = [
  ["true", true],
  ["false", false],
  ["null", null],
  ["True", true],
  ["False", false],
  ["None", null],
];

/** Sets a key the way JSON.parse does: `__proto__` becomes an own property, never the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function isWhitespace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9 || code === 0xa0 || code === 0xfeff;
}

/** Reads literal values out of one text; one reader per text so its memory of parsed positions stays valid. */
export class LiteralReader {
  readonly text: string;
  // Containers that failed to parse, a byte per position. Failures are what hostile input repeats; a success
  // is read again at most once (the scanner skips past whatever it has read whole), so it is not remembered.
  #failed: Uint8Array | undefined;
  #work = 0;
  readonly #budget: number;

  constructor(text: string) {
    this.text = text;
    this.#budget = WORK_FLOOR + WORK_PER_CHAR * text.length;
  }

  /** The value starting exactly at `start`, or undefined when none parses there. */
  read(start: number): LiteralRead | undefined {
    return this.#value(start, 0) ?? undefined;
  }

  /** Parses a whole string (for arguments given as an encoded string); undefined unless it is one value. */
  static parseWhole(source: string): Literal | undefined {
    const reader = new LiteralReader(source);
    const start = reader.skipSpace(0);
    const read = reader.read(start);
    if (!read || reader.skipSpace(read.end) !== source.length) return undefined;
    return read.value;
  }

  skipSpace(at: number): number {
    const text = this.text;
    while (at < text.length && isWhitespace(text.charCodeAt(at))) at += 1;
    return at;
  }

  /** Whether reading has given up for this text (the work budget is spent). */
  get exhausted(): boolean {
    return this.#work > this.#budget;
  }

  #charge(amount: number): boolean {
    this.#work += amount;
    return this.#work <= this.#budget;
  }

  #value(at: number, depth: number): LiteralRead | null {
    if (!this.#charge(1)) return null;
    const text = this.text;
    const char = text[at];
    switch (char) {
      case "{":
        return this.#container(at, depth, "}");
      case "[":
        return this.#container(at, depth, "]");
      case "(":
        return this.#container(at, depth, ")");
      case '"':
      case "'":
        return this.#string(at);
      case undefined:
        return null;
    }
    for (const [word, value] of KEYWORDS) {
      if (text.startsWith(word, at) && !isWordChar(text.charCodeAt(at + word.length))) return { value, end: at + word.length };
    }
    return this.#number(at);
  }

  #container(start: number, depth: number, close: string): LiteralRead | null {
    if (this.#failed?.[start] === 1) return null;
    const read = depth >= MAX_DEPTH ? null : close === "}" ? this.#object(start, depth) : this.#array(start, depth, close);
    if (!read) {
      this.#failed ??= new Uint8Array(this.text.length);
      this.#failed[start] = 1;
    }
    return read;
  }

  #object(start: number, depth: number): LiteralRead | null {
    const text = this.text;
    const result: Record<string, Literal> = {};
    let at = this.skipSpace(start + 1);
    while (true) {
      if (text[at] === "}") return { value: result, end: at + 1 };
      const key = this.#key(at);
      if (!key) return null;
      at = this.skipSpace(key.end);
      if (text[at] !== ":") return null;
      const value = this.#value(this.skipSpace(at + 1), depth + 1);
      if (!value) return null;
      setOwn(result, key.value, value.value);
      at = this.skipSpace(value.end);
      if (text[at] === ",") at = this.skipSpace(at + 1);
      else if (text[at] !== "}") return null;
    }
  }

  #array(start: number, depth: number, close: string): LiteralRead | null {
    const text = this.text;
    const result: Literal[] = [];
    let at = this.skipSpace(start + 1);
    while (true) {
      if (text[at] === close) return { value: result, end: at + 1 };
      const value = this.#value(at, depth + 1);
      if (!value) return null;
      result.push(value.value);
      at = this.skipSpace(value.end);
      if (text[at] === ",") at = this.skipSpace(at + 1);
      else if (text[at] !== close) return null;
    }
  }

  // Keys: quoted strings, or bare identifiers and numbers as JavaScript and YAML-minded models write them.
  #key(at: number): { value: string; end: number } | null {
    const char = this.text[at];
    if (char === '"' || char === "'") {
      const read = this.#string(at);
      return read ? { value: read.value, end: read.end } : null;
    }
    let end = at;
    while (end < this.text.length && isWordChar(this.text.charCodeAt(end))) end += 1;
    if (end === at) return null;
    this.#charge(end - at);
    return { value: this.text.slice(at, end), end };
  }

  #string(start: number): { value: string; end: number } | null {
    const text = this.text;
    const quote = text.charCodeAt(start);
    const triple = text.charCodeAt(start + 1) === quote && text.charCodeAt(start + 2) === quote;
    let at = start + (triple ? 3 : 1);
    let value = "";
    let runStart = at;
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code === quote && (!triple || (text.charCodeAt(at + 1) === quote && text.charCodeAt(at + 2) === quote))) {
        this.#charge(at - start);
        return { value: value + text.slice(runStart, at), end: at + (triple ? 3 : 1) };
      }
      if (code !== BACKSLASH) {
        at += 1;
        continue;
      }
      value += text.slice(runStart, at);
      const escaped = text[at + 1];
      if (escaped === undefined) break;
      const simple = SIMPLE_ESCAPES[escaped];
      if (simple !== undefined) {
        value += simple;
        at += 2;
      } else if (escaped === "u" || escaped === "x") {
        const digits = escaped === "u" ? 4 : 2;
        const hex = text.slice(at + 2, at + 2 + digits);
        if (hex.length === digits && HEX.test(hex)) {
          value += String.fromCharCode(Number.parseInt(hex, 16));
          at += 2 + digits;
        } else {
          value += `\\${escaped}`;
          at += 2;
        }
      } else {
        // Python keeps unknown escapes as written.
        value += `\\${escaped}`;
        at += 2;
      }
      runStart = at;
    }
    this.#charge(at - start);
    return null;
  }

  #number(start: number): LiteralRead | null {
    const match = NUMBER.exec(this.text.slice(start, start + 64));
    if (!match || !/\d/.test(match[0])) return null;
    const end = start + match[0].length;
    if (isWordChar(this.text.charCodeAt(end))) return null;
    const value = Number(match[0].replaceAll("_", "").replace(/^\+/, ""));
    return Number.isFinite(value) ? { value, end } : null;
  }
}

const BACKSLASH = 92;
const HEX = /^[0-9a-fA-F]+$/;
const NUMBER = /^[-+]?(?:\d[\d_]*)?(?:\.\d+)?(?:[eE][-+]?\d+)?/;

function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36 || code === 45;
}
