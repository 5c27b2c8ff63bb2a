import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";

/**
 * The SDK's client and its message schemas, loaded at a server's first start: a room whose config names no MCP server
 * (most) never pays for them (with the JSON Schema validator they bring, they are a third of `org chat`'s start-up).
 * The module loader keeps them once loaded: a later start gets them at once.
 */
export function mcpSdk() {
  return Promise.all([import("@modelcontextprotocol/sdk/client/index.js"), import("@modelcontextprotocol/sdk/types.js")]);
}

// A server's output schemas are not compiled or run in org's process (a schema's regular expressions are its author's):
// `structuredContent` is passed on as data, redacted like any result.
export const NO_OUTPUT_VALIDATION: jsonSchemaValidator = {
  getValidator: () => (input: unknown) => ({ valid: true as const, data: input as never, errorMessage: undefined }),
};
