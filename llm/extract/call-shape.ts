import type { ExtractedToolCall } from "./extract-tool-calls.ts";
import { type Literal, LiteralReader } from "./literal.ts";

// What a tool name may look like: OpenAI's rule plus `.` and `:` (namespaced tools). Prose never qualifies.
const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Whether a string can be a tool name at all (before any `toolNames` filter). */
export function isToolName(name: unknown): name is string {
  return typeof name === "string" && TOOL_NAME.test(name);
}

/** The tools a request declared, or `"any"`: whatever name a request could declare. */
export type DeclaredTools = ReadonlySet<string> | "any";

/** Whether `name` is one of `declared`. */
export function isDeclared(declared: DeclaredTools, name: string): boolean {
  return declared === "any" ? isToolName(name) : declared.has(name);
}

type Shape = {
  /** Inside an explicit marker (`<tool_call>`, `[TOOL_CALLS]`, …): a call may omit its arguments. */
  explicit: boolean;
  /**
   * Names the request declared; enables the `{"<toolname>": {…}}` shape inside explicit markers. `"any"` takes every
   * name that could be a tool's (what a scan for every call a model could be handed, `findCallMarkers`, needs).
   */
  toolNames?: DeclaredTools;
};

/**
 * The calls a parsed value stands for, or undefined when it is not entirely calls: a call object
 * (`name` + `arguments`|`parameters`, OpenAI's `{type, function: {…}}`), `{"tool_calls": […]}`, or a
 * non-empty array of those.
 */
export function callsFromValue(value: Literal, shape: Shape): ExtractedToolCall[] | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    const calls: ExtractedToolCall[] = [];
    for (const item of value) {
      if (!isRecord(item)) return undefined;
      const found = callsFromValue(item, shape);
      if (!found) return undefined;
      calls.push(...found);
    }
    return calls;
  }
  if (!isRecord(value)) return undefined;
  if (Object.hasOwn(value, "tool_calls")) {
    const list = value.tool_calls;
    return Array.isArray(list) ? callsFromValue(list, shape) : undefined;
  }
  const call = callFromObject(value, shape);
  return call ? [call] : undefined;
}

function callFromObject(value: Record<string, Literal>, shape: Shape): ExtractedToolCall | undefined {
  const nested = ownValue(value, "function");
  if (isRecord(nested)) return callFromObject(nested, shape);
  const name = ownValue(value, "name") ?? (typeof nested === "string" ? nested : undefined);
  if (isToolName(name)) {
    const raw = Object.hasOwn(value, "arguments") ? value.arguments : ownValue(value, "parameters");
    if (raw === undefined && !shape.explicit) return undefined;
    const args = argumentsFrom(raw);
    return args ? { name, arguments: args } : undefined;
  }
  // Ollama's template parser also accepts `{"get_weather": {"city": "Paris"}}` for a declared tool.
  const keys = Object.keys(value);
  const only = keys[0];
  if (shape.explicit && shape.toolNames && keys.length === 1 && only !== undefined && isDeclared(shape.toolNames, only)) {
    const args = ownValue(value, only);
    if (isRecord(args)) return { name: only, arguments: args };
  }
  return undefined;
}

/** Arguments as an object: given as one, as a string that encodes one, or absent/empty (no arguments). */
function argumentsFrom(raw: Literal | undefined): Record<string, unknown> | undefined {
  if (raw === undefined || raw === null) return {};
  if (isRecord(raw)) return raw;
  if (typeof raw !== "string") return undefined;
  if (raw.trim() === "") return {};
  const decoded = LiteralReader.parseWhole(raw);
  return decoded !== undefined && isRecord(decoded) ? decoded : undefined;
}

export function isRecord(value: unknown): value is Record<string, Literal> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function ownValue(value: Record<string, Literal>, key: string): Literal | undefined {
  return Object.hasOwn(value, key) ? value[key] : undefined;
}
