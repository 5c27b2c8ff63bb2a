import { MCP_NAME_SEPARATOR } from "../config/mcp-servers.ts";
import { sanitizeForTerminal, oneLine } from "../security/terminal-sanitizer.ts";

// What a server says of its tools is hostile input: a name becomes a tool name the model calls and a key org looks up,
// a description goes to the model and the terminal, a schema to the model server. Each is checked here, once.

/** A tool's name as a server may give it: what OpenAI-compatible servers accept in a tool name. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** The longest name a tool may have in the room (OpenAI's limit). */
const MAX_ROOM_TOOL_NAME = 64;
/** The longest description passed on; the rest is cut. */
export const MAX_DESCRIPTION = 2000;
/** The largest input schema (as JSON) passed on to the model. */
export const MAX_SCHEMA_CHARS = 32 * 1024;
/** Tools offered from one server at most; the rest are left out with a notice. */
export const MAX_TOOLS_PER_SERVER = 200;

/** One tool of a server as the room offers it. */
export type McpToolEntry = {
  server: string;
  /** The name the server gives it (what `tools/call` sends). */
  tool: string;
  /** Its name in the room: `<server>__<tool>`. */
  name: string;
  description: string;
  /** The server's input schema, an object schema, as the model sees it. */
  inputSchema: Record<string, unknown>;
  /** The server's hint that the tool changes nothing. */
  readOnly: boolean;
};

/** What `tools/list` gives for one tool, after the SDK's schema check (the values are still anyone's). */
export type ListedTool = {
  name: string;
  description?: string | undefined;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean | undefined } | undefined;
  execution?: { taskSupport?: string | undefined } | undefined;
};

/** A listed tool as a room tool, or why it is not offered (the name in the reason made safe to show). */
export function mcpToolEntry(server: string, listed: ListedTool): { ok: true; entry: McpToolEntry } | { ok: false; name: string; problem: string } {
  const shown = oneLine(listed.name, 80);
  if (!TOOL_NAME.test(listed.name))
    return { ok: false, name: shown, problem: "its name is not 1–64 letters, digits, '_' or '-', which a model's tool call can name" };
  const name = `${server}${MCP_NAME_SEPARATOR}${listed.name}`;
  if (name.length > MAX_ROOM_TOOL_NAME)
    return {
      ok: false,
      name: shown,
      problem: `${name.length} characters with the server's name in front, over the ${MAX_ROOM_TOOL_NAME} a tool name may have`,
    };
  if (listed.execution?.taskSupport === "required")
    return { ok: false, name: shown, problem: "it runs only as an MCP task, which org does not ask for" };
  const { $schema: _dialect, ...schema } = listed.inputSchema;
  const size = JSON.stringify(schema).length;
  if (size > MAX_SCHEMA_CHARS) return { ok: false, name: shown, problem: `its input schema is ${size} characters, over ${MAX_SCHEMA_CHARS}` };
  return {
    ok: true,
    entry: {
      server,
      tool: listed.name,
      name,
      description: safeDescription(listed.description ?? ""),
      inputSchema: schema,
      readOnly: listed.annotations?.readOnlyHint === true,
    },
  };
}

/** A description for the model and the terminal: controls and bidi controls made visible, cut at MAX_DESCRIPTION. */
function safeDescription(text: string): string {
  const safe = sanitizeForTerminal(text).trim();
  return safe.length > MAX_DESCRIPTION ? `${safe.slice(0, MAX_DESCRIPTION - 1)}…` : safe;
}
