// References in a workflow: `$inputs.x`, `$steps.<id>.output.<field>`, `$item`, `$item.<field>`, `$index`,
// optionally braced (`${inputs.x}`) to sit against other text; `$$` is a literal `$`. A string that is one
// whole reference takes the referenced value as is; inside other text the value is written in (strings as
// they are, anything else as JSON).

const PATH = String.raw`(inputs|steps|item|index)((?:\.[A-Za-z0-9_-]+)*)`;
const TOKEN = new RegExp(String.raw`\$\$|\$\{${PATH}\}|\$${PATH}`, "g");
const WHOLE = new RegExp(String.raw`^(?:\$\{${PATH}\}|\$${PATH})$`);

/** One reference: where it points. */
export type Reference = { text: string; root: "inputs" | "steps" | "item" | "index"; path: string[] };

const ROOTS: readonly Reference["root"][] = ["inputs", "steps", "item", "index"];

/** A matched reference; `root` is what PATH's first group matched, so it is always one of ROOTS. */
function toReference(text: string, root: string | undefined, rest: string): Reference {
  const known = ROOTS.find((name) => name === root);
  if (known === undefined) throw new Error(`${text} is not a reference: it must begin with $inputs, $steps, $item or $index`);
  return { text, root: known, path: rest === "" ? [] : rest.slice(1).split(".") };
}

/** The reference a string is as a whole, if it is one. */
export function wholeReference(text: string): Reference | undefined {
  const match = WHOLE.exec(text);
  if (!match) return undefined;
  return toReference(text, match[1] ?? match[3], match[2] ?? match[4] ?? "");
}

/** Every reference in a value (strings, arrays, object values), with the key path where it sits. */
export function referencesIn(value: unknown, key: string): { key: string; reference: Reference }[] {
  if (typeof value === "string") {
    return [...value.matchAll(TOKEN)]
      .filter((match) => match[0] !== "$$")
      .map((match) => ({
        key,
        reference: toReference(match[0], match[1] ?? match[3], match[2] ?? match[4] ?? ""),
      }));
  }
  if (Array.isArray(value)) return value.flatMap((entry, index) => referencesIn(entry, `${key}[${index}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([name, entry]) => referencesIn(entry, `${key}.${name}`));
  }
  return [];
}

/** Looks a reference up; throws a plain Error saying what is missing (the caller adds step and key). */
export type Lookup = (reference: Reference) => unknown;

/** The value with every reference replaced through `lookup`; keys are never references. */
export function resolveValue(value: unknown, lookup: Lookup): unknown {
  if (typeof value === "string") {
    const whole = wholeReference(value);
    if (whole) return lookup(whole);
    return value.replace(TOKEN, (token, braced, bracedRest, bare, bareRest) => {
      if (token === "$$") return "$";
      const found = lookup(toReference(token, braced ?? bare, bracedRest ?? bareRest ?? ""));
      return typeof found === "string" ? found : (JSON.stringify(found) ?? "null");
    });
  }
  if (Array.isArray(value)) return value.map((entry) => resolveValue(entry, lookup));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, entry]) => [name, resolveValue(entry, lookup)]));
  }
  return value;
}

/** Follows `path` into `value`; a field that is not there throws, naming what is. */
export function follow(value: unknown, path: readonly string[], what: string): unknown {
  let current = value;
  for (const [index, part] of path.entries()) {
    const here = `${what}${path
      .slice(0, index)
      .map((segment) => `.${segment}`)
      .join("")}`;
    if (Array.isArray(current) && /^\d+$/.test(part)) {
      if (Number(part) >= current.length) throw new Error(`${here} has ${current.length} items, no item ${part}`);
      current = current[Number(part)];
    } else if (isFieldRecord(current) && Object.hasOwn(current, part)) {
      current = current[part];
    } else {
      const fields = typeof current === "object" && current !== null && !Array.isArray(current) ? Object.keys(current) : [];
      const has =
        fields.length > 0
          ? `it has ${fields.slice(0, 10).join(", ")}`
          : `it is ${current === null ? "null" : Array.isArray(current) ? "a list" : typeof current}`;
      throw new Error(`${here} has no field "${part}" (${has})`);
    }
  }
  return current;
}

function isFieldRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
