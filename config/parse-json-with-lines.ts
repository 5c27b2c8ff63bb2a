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

/**
 * Parses JSON (comments allowed: line comments and block comments) and remembers the line each value starts on, so a config error can name its line.
 * `lineOf(path)` gives the line of the deepest part of `path` that exists (1 when nothing does).
 */
export function parseJsonWithLines(text: string): { value: unknown; lineOf(path: readonly PropertyKey[]): number } {
  const lines = new Map<string, number>();
  let position = 0;
  let line = 1;
  let lineStart = 0;

  const fail = (problem: string): never => {
    throw new JsonSyntaxError(line, position - lineStart + 1, problem);
  };
  // Comments (`// …` to the end of the line, `/* … */`) count as white space, so a config can explain itself.
  const skipSpace = () => {
    while (position < text.length) {
      const character = text[position];
      if (character === "/" && text[position + 1] === "/") {
        while (position < text.length && text[position] !== "\n") position += 1;
        continue;
      }
      if (character === "/" && text[position + 1] === "*") {
        const end = text.indexOf("*/", position + 2);
        if (end < 0) fail("a /* comment that is never closed with */");
        for (; position < end + 2; position += 1) {
          if (text[position] === "\n") {
            line += 1;
            lineStart = position + 1;
          }
        }
        continue;
      }
      if (character === "\n") {
        line += 1;
        lineStart = position + 1;
      } else if (character !== " " && character !== "\t" && character !== "\r") return;
      position += 1;
    }
  };
  const describe = () => (position >= text.length ? "the end of the file" : JSON.stringify(text[position]));

  const parseString = (): string => {
    const start = position;
    position += 1;
    while (position < text.length && text[position] !== '"') {
      if (text[position] === "\\") position += 1;
      if (text[position] === "\n") fail("a string is not closed before the end of the line; add the closing quote");
      position += 1;
    }
    if (position >= text.length) fail("a string is not closed; add the closing quote");
    position += 1;
    try {
      return JSON.parse(text.slice(start, position)) as string;
    } catch {
      return fail("a string holds an invalid escape sequence");
    }
  };

  const parseValue = (path: string): unknown => {
    skipSpace();
    lines.set(path, line);
    const character = text[position];
    if (character === "{") {
      position += 1;
      const object: Record<string, unknown> = {};
      skipSpace();
      if (text[position] === "}") {
        position += 1;
        return object;
      }
      for (;;) {
        skipSpace();
        if (text[position] !== '"') fail(`expected a quoted key but found ${describe()}${text[position] === "}" ? " (remove the trailing comma)" : ""}`);
        const keyLine = line;
        const key = parseString();
        const childPath = `${path}/${key}`;
        skipSpace();
        if (text[position] !== ":") fail(`expected ':' after the key "${key}" but found ${describe()}`);
        position += 1;
        object[key] = parseValue(childPath);
        lines.set(childPath, keyLine);
        skipSpace();
        if (text[position] === ",") {
          position += 1;
          continue;
        }
        if (text[position] === "}") {
          position += 1;
          return object;
        }
        fail(`expected ',' or '}' after the value of "${key}" but found ${describe()}`);
      }
    }
    if (character === "[") {
      position += 1;
      const array: unknown[] = [];
      skipSpace();
      if (text[position] === "]") {
        position += 1;
        return array;
      }
      for (;;) {
        array.push(parseValue(`${path}/${array.length}`));
        skipSpace();
        if (text[position] === ",") {
          position += 1;
          skipSpace();
          if (text[position] === "]") fail("a trailing comma before ']'; remove it");
          continue;
        }
        if (text[position] === "]") {
          position += 1;
          return array;
        }
        fail(`expected ',' or ']' in a list but found ${describe()}`);
      }
    }
    if (character === '"') return parseString();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(position, position + 400));
    if (!literal) return fail(`expected a value but found ${describe()}`);
    position += literal[0].length;
    return JSON.parse(literal[0]);
  };

  const value = parseValue("");
  skipSpace();
  if (position < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
  return {
    value,
    lineOf(path) {
      for (let length = path.length; length >= 0; length -= 1) {
        const key = path
          .slice(0, length)
          .map((part) => `/${String(part)}`)
          .join("");
        const found = lines.get(key);
        if (found !== undefined) return found;
      }
      return 1;
    },
  };
}
