// What a value of one JSON Schema may be fed into another: the type reasoning of a planned workflow's check.
// Only what the schemas say is judged; a schema that says nothing (`{}`, a `$ref`, a combinator) fits anything.

/** A JSON Schema as the tools' metadata and workflow files hold it. */
export type Schema = Record<string, unknown>;

const JSON_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;
type JsonType = (typeof JSON_TYPES)[number];

/** A JSON object, as a schema or a schema's part is. */
export const isSchema = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

/** The `properties` an object schema declares; undefined when it declares none. */
export const propertiesOf = (schema: Schema | undefined): Record<string, Schema> | undefined =>
  schema && isSchema(schema.properties)
    ? Object.fromEntries(Object.entries(schema.properties).map(([key, value]) => [key, isSchema(value) ? value : {}]))
    : undefined;

/** The field names an object schema requires. */
export const requiredOf = (schema: Schema | undefined): string[] =>
  Array.isArray(schema?.required) ? schema.required.filter((key): key is string => typeof key === "string") : [];
const isJsonType = (value: unknown): value is JsonType => JSON_TYPES.some((type) => type === value);

/** The JSON type of a value, `integer` for whole numbers. */
export function typeOfValue(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  return "object";
}

/** The types a schema allows; undefined when it does not say (anything fits). */
export function typesOf(schema: Schema): JsonType[] | undefined {
  const { type } = schema;
  if (isJsonType(type)) return [type];
  if (Array.isArray(type)) {
    const types = type.filter(isJsonType);
    return types.length > 0 ? types : undefined;
  }
  if ("const" in schema) return [typeOfValue(schema.const)];
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return [...new Set(schema.enum.map(typeOfValue))];
  if (isSchema(schema.properties)) return ["object"];
  if (isSchema(schema.items)) return ["array"];
  return undefined;
}

/** A schema's types as a reader sees them: `string`, `integer or null`, `any value`. */
export function describeSchema(schema: Schema): string {
  const types = typesOf(schema);
  if (!types) return "any value";
  const words = types.map((type) => {
    if (type === "array" && isSchema(schema.items)) {
      const items = typesOf(schema.items);
      return items ? `an array of ${items.join(" or ")}` : "an array";
    }
    return type;
  });
  if ("const" in schema) return `${words.join(" or ")} ${JSON.stringify(schema.const)}`;
  return words.join(" or ");
}

/** The schema of the items of an array schema (`{}` when it does not say). */
export function itemsOf(schema: Schema): Schema {
  return isSchema(schema.items) ? schema.items : {};
}

/** Where `path` leads inside `schema`: its schema, or what is there instead. */
export function schemaAt(schema: Schema, path: readonly string[]): { ok: true; schema: Schema; optional?: string } | { ok: false; problem: string } {
  let current = schema;
  // The first field on the way that the schema does not require: the value read may be absent.
  let optional: string | undefined;
  for (const [index, part] of path.entries()) {
    const here = path.slice(0, index).join(".");
    const types = typesOf(current);
    if (!types) return { ok: true, schema: {}, ...(optional ? { optional } : {}) };
    if (types.includes("array") && /^\d+$/.test(part)) {
      current = itemsOf(current);
      optional ??= `item ${part} of ${here === "" ? "the list" : here} may not be there`;
      continue;
    }
    const properties = isSchema(current.properties) ? current.properties : undefined;
    if (types.includes("object") && properties === undefined) return { ok: true, schema: {}, ...(optional ? { optional } : {}) };
    const next = properties?.[part];
    if (properties !== undefined && Object.hasOwn(properties, part) && isSchema(next)) {
      if (!requiredOf(current).includes(part)) optional ??= `${[...path.slice(0, index), part].join(".")} is not required`;
      current = next;
      continue;
    }
    const has = properties ? `it has ${Object.keys(properties).join(", ") || "no fields"}` : `it is ${describeSchema(current)}`;
    return { ok: false, problem: `${here === "" ? "it" : here} has no field "${part}" (${has})` };
  }
  return { ok: true, schema: current, ...(optional ? { optional } : {}) };
}

/** The schema of a list whose items have these schemas: the first's when all have its types, else their types together. */
export function itemsSchema(items: readonly Schema[]): Schema {
  const [first] = items;
  if (first === undefined) return { type: "array" };
  const types = new Set(items.flatMap((item) => typesOf(item) ?? ["any"]));
  const firstTypes = typesOf(first);
  const same = firstTypes !== undefined && types.size === firstTypes.length && firstTypes.every((type) => types.has(type));
  if (types.has("any")) return { type: "array" };
  return { type: "array", items: same ? first : { type: [...types] } };
}

const MAX_DEPTH = 8;

/**
 * Why a value of schema `given` cannot be fed where `expected` is asked for, or undefined when it fits: each type
 * `given` allows must be one `expected` takes (an integer is a number), arrays by their items, objects by the
 * fields `expected` requires, constants by `expected`'s enum.
 */
export function misfit(given: Schema, expected: Schema, depth = 0): string | undefined {
  const from = typesOf(given);
  const into = typesOf(expected);
  if (!from || !into || depth > MAX_DEPTH) return undefined;
  const wrong = from.filter((type) => !into.includes(type) && !(type === "integer" && into.includes("number")));
  if (wrong.length > 0) return `expected ${describeSchema(expected)}, given ${describeSchema(given)}`;
  if (Array.isArray(expected.enum)) {
    const allowed = new Set(expected.enum.map((entry) => JSON.stringify(entry)));
    const offered = "const" in given ? [given.const] : Array.isArray(given.enum) ? given.enum : [];
    const outside = offered.filter((entry) => !allowed.has(JSON.stringify(entry)));
    if (outside.length > 0)
      return (
        `expected one of ${expected.enum.map((entry) => JSON.stringify(entry)).join(", ")}, given ` +
        `${outside.map((entry) => JSON.stringify(entry)).join(" or ")}`
      );
  }
  if (from.includes("array") && isSchema(expected.items) && isSchema(given.items)) {
    const inner = misfit(given.items, expected.items, depth + 1);
    if (inner) return `array items: ${inner}`;
  }
  if (from.includes("object") && isSchema(given.properties) && isSchema(expected.properties)) {
    return objectMisfit(given, expected, depth);
  }
  return undefined;
}

function objectMisfit(given: Schema, expected: Schema, depth: number): string | undefined {
  const has = propertiesOf(given) ?? {};
  const wants = propertiesOf(expected) ?? {};
  const absent = requiredOf(expected).filter((key) => !Object.hasOwn(has, key));
  if (absent.length > 0) return `expected an object with ${absent.join(", ")}, given one without`;
  for (const [key, schema] of Object.entries(has)) {
    const target = wants[key];
    if (target === undefined) continue;
    const inner = misfit(schema, target, depth + 1);
    if (inner) return `field ${key}: ${inner}`;
  }
  return undefined;
}
