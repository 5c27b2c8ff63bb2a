import type { ToolSpec } from "../generated-tools/tool-metadata.ts";
import type { McpToolEntry } from "../mcp-server/mcp-tool-catalog.ts";

// Tools and a workflow for the MCP and serve tests, beside testing/generated-tool-fixture.ts's word counter.

/** A tool that always throws; not deterministic, so its annotations differ from word_count's. */
export function boomSpec(): ToolSpec {
  return {
    name: "boom",
    description: "Always fails, to test how failures travel.",
    input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    output_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    examples: [
      { input: { text: "a" }, output: { text: "a" } },
      { input: { text: "b" }, output: { text: "b" } },
    ],
    deterministic: false,
    capabilities: { network: false, filesystem: "none" },
  };
}

export const BOOM_CODE = `export default (_input: { text: string }) => { throw new Error("this tool always fails"); };\n`;

/** A tool whose output is a bare string (MCP publishes it as `{ result }`). */
export function shoutSpec(): ToolSpec {
  return {
    name: "shout",
    description: "Upper-cases a text and returns the string.",
    input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    output_schema: { type: "string" },
    examples: [
      { input: { text: "hi" }, output: "HI" },
      { input: { text: "a" }, output: "A" },
    ],
    deterministic: true,
    capabilities: { network: false, filesystem: "none" },
  };
}

export const SHOUT_CODE = `export default (input: { text: string }) => input.text.toUpperCase();\n`;

/** `workflows/count-all.json`: word_count on the text, its count as `{ words }`. */
export const LINES_WORKFLOW = {
  name: "count all",
  description: "Counts the words of a text with word_count.",
  inputs: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
  output: { words: "$steps.count.output.words" },
};

/** A catalog entry of a generated tool that does nothing, for the MCP server's tests; `overrides` replace its parts. */
export function mcpToolEntry(name: string, overrides: Partial<McpToolEntry> = {}): McpToolEntry {
  return {
    name,
    kind: "generated",
    description: name,
    inputSchema: { type: "object" },
    wrapsOutput: false,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    signature: name,
    documents: async () => ({ ok: false, error: "no documents" }),
    run: async () => ({ ok: true, output: {} }),
    ...overrides,
  };
}
