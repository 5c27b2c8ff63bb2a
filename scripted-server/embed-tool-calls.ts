// Writes tool calls into reply text the way models do when native tool calling fails: the formats
// llm/extract/ reads (Hermes, Mistral, bare or fenced JSON, pythonic lists, Qwen's XML), and the arguments alone, as a
// small model offered one tool writes them.

export type EmbeddedFormat = "hermes" | "mistral" | "json" | "fenced" | "arguments" | "pythonic" | "qwen-xml";
type Call = { name: string; arguments: Record<string, unknown> };

function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "None";
  if (typeof value === "string") return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("\n", "\\n")}'`;
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value)
      .map(([key, item]) => `${pythonLiteral(key)}: ${pythonLiteral(item)}`)
      .join(", ")}}`;
  }
  return pythonLiteral(String(value));
}

const callJson = (call: Call) => JSON.stringify({ name: call.name, arguments: call.arguments });

/** The calls as text in one model family's format. */
export function embedToolCalls(calls: readonly Call[], format: EmbeddedFormat): string {
  switch (format) {
    case "hermes":
      return calls.map((call) => `<tool_call>\n${callJson(call)}\n</tool_call>`).join("\n");
    case "mistral":
      return `[TOOL_CALLS][${calls.map(callJson).join(", ")}]`;
    case "json": {
      const [only, ...others] = calls;
      return only && others.length === 0 ? callJson(only) : `[${calls.map(callJson).join(", ")}]`;
    }
    case "fenced":
      return `\`\`\`json\n${embedToolCalls(calls, "json")}\n\`\`\``;
    case "arguments":
      return calls.map((call) => JSON.stringify(call.arguments, null, 2)).join("\n");
    case "pythonic":
      return `[${calls
        .map(
          (call) =>
            `${call.name}(${Object.entries(call.arguments)
              .map(([key, value]) => `${key}=${pythonLiteral(value)}`)
              .join(", ")})`,
        )
        .join(", ")}]`;
    case "qwen-xml":
      return calls
        .map((call) => {
          const parameters = Object.entries(call.arguments).map(
            ([key, value]) => `<parameter=${key}>\n${typeof value === "string" ? value : JSON.stringify(value)}\n</parameter>\n`,
          );
          return `<tool_call>\n<function=${call.name}>\n${parameters.join("")}</function>\n</tool_call>`;
        })
        .join("\n");
  }
}
