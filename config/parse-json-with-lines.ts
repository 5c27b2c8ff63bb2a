/** JSON text that does not parse; `line` and `column` are 1-based. */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
  constructor(
    readonly line: number,
    readonly column: number,
    readonly problem: string,
  ) {
    super(`line ${line}, column ${column}: ${problem}`);
  }
}

const LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/;

/** One pass over a JSON text: the position, the line it is on, and the line each value (by its `/`-joined path) starts on. */
class JsonLineReader {
  readonly lines = new Map<string, number>();
  #position = 0;
  #line = 1;
  #lineStart = 0;

  constructor(readonly text: string) {}

  /** The whole text's value; anything after it but white space is an error. */
  document(): unknown {
    const value = this.#value("");
    this.#skipSpace();
    if (this.#position < this.text.length) this.#fail(`unexpected ${this.#found()} after the end of the JSON value`);
    return value;
  }

  #fail(problem: string): never {
    throw new JsonSyntaxError(this.#line, this.#position - this.#lineStart + 1, problem);
  }

  #found(): string {
    return this.#position >= this.text.length ? "the end of the file" : JSON.stringify(this.text[this.#position]);
  }

  #at(character: string): boolean {
    return this.text[this.#position] === character;
  }

  #newLine(at: number): void {
    this.#line += 1;
    this.#lineStart = at + 1;
  }

  // Comments (`// …` to the end of the line, `/* … */`) count as white space, so a config can explain itself.
  #skipSpace(): void {
    const { text } = this;
    while (this.#position < text.length) {
      const character = text[this.#position];
      if (character === "/" && text[this.#position + 1] === "/") {
        while (this.#position < text.length && !this.#at("\n")) this.#position += 1;
        continue;
      }
      if (character === "/" && text[this.#position + 1] === "*") {
        const end = text.indexOf("*/", this.#position + 2);
        if (end < 0) this.#fail("a /* comment that is never closed with */");
        for (; this.#position < end + 2; this.#position += 1) if (this.#at("\n")) this.#newLine(this.#position);
        continue;
      }
      if (character === "\n") this.#newLine(this.#position);
      else if (character !== " " && character !== "\t" && character !== "\r") return;
      this.#position += 1;
    }
  }

  #value(path: string): unknown {
    this.#skipSpace();
    this.lines.set(path, this.#line);
    if (this.#at("{")) return this.#object(path);
    if (this.#at("[")) return this.#array(path);
    if (this.#at('"')) return this.#string();
    const literal = LITERAL.exec(this.text.slice(this.#position, this.#position + 400));
    if (!literal) return this.#fail(`expected a value but found ${this.#found()}`);
    this.#position += literal[0].length;
    return JSON.parse(literal[0]);
  }

  #string(): string {
    const start = this.#position;
    this.#position += 1;
    while (this.#position < this.text.length && !this.#at('"')) {
      if (this.#at("\\")) this.#position += 1;
      if (this.#at("\n")) this.#fail("a string is not closed before the end of the line; add the closing quote");
      this.#position += 1;
    }
    if (this.#position >= this.text.length) this.#fail("a string is not closed; add the closing quote");
    this.#position += 1;
    try {
      return JSON.parse(this.text.slice(start, this.#position)) as string;
    } catch {
      return this.#fail("a string holds an invalid escape sequence");
    }
  }

  /** After `{`: the members up to `}`, each key's line kept as its value's (a value may start on a later line). */
  #object(path: string): Record<string, unknown> {
    this.#position += 1;
    const object: Record<string, unknown> = {};
    this.#skipSpace();
    if (this.#consume("}")) return object;
    for (;;) {
      this.#skipSpace();
      if (!this.#at('"')) this.#fail(`expected a quoted key but found ${this.#found()}${this.#at("}") ? " (remove the trailing comma)" : ""}`);
      const keyLine = this.#line;
      const key = this.#string();
      const childPath = `${path}/${key}`;
      this.#skipSpace();
      if (!this.#at(":")) this.#fail(`expected ':' after the key "${key}" but found ${this.#found()}`);
      this.#position += 1;
      // As JSON.parse does: an own property, even one named __proto__.
      Object.defineProperty(object, key, { value: this.#value(childPath), enumerable: true, writable: true, configurable: true });
      this.lines.set(childPath, keyLine);
      this.#skipSpace();
      if (this.#consume(",")) continue;
      if (this.#consume("}")) return object;
      this.#fail(`expected ',' or '}' after the value of "${key}" but found ${this.#found()}`);
    }
  }

  /** After `[`: the items up to `]`, each at the path of its index. */
  #array(path: string): unknown[] {
    this.#position += 1;
    const array: unknown[] = [];
    this.#skipSpace();
    if (this.#consume("]")) return array;
    for (;;) {
      array.push(this.#value(`${path}/${array.length}`));
      this.#skipSpace();
      if (this.#consume(",")) {
        this.#skipSpace();
        if (this.#at("]")) this.#fail("a trailing comma before ']'; remove it");
        continue;
      }
      if (this.#consume("]")) return array;
      this.#fail(`expected ',' or ']' in a list but found ${this.#found()}`);
    }
  }

  /** Steps over `character` when it stands here; whether it did. */
  #consume(character: string): boolean {
    if (!this.#at(character)) return false;
    this.#position += 1;
    return true;
  }
}

/**
 * Parses JSON (comments allowed: line comments and block comments) and remembers the line each value starts on, so a config error can name its line.
 * `lineOf(path)` gives the line of the deepest part of `path` that exists (1 when nothing does).
 */
export function parseJsonWithLines(text: string): { value: unknown; lineOf(path: readonly PropertyKey[]): number } {
  const reader = new JsonLineReader(text);
  const value = reader.document();
  return {
    value,
    lineOf(path) {
      for (let length = path.length; length >= 0; length -= 1) {
        const key = path
          .slice(0, length)
          .map((part) => `/${String(part)}`)
          .join("");
        const found = reader.lines.get(key);
        if (found !== undefined) return found;
      }
      return 1;
    },
  };
}
