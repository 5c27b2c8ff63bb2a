import { cutOutput } from "../tools/cut-output.ts";
import type { JsonValue, ToolResult } from "../tools/define-tool.ts";

/** The largest `structuredContent` (as JSON) kept as the result's data. */
const MAX_DATA_CHARACTERS = 256 * 1024;

/** One content block of a `tools/call` result, as the SDK's schema passes it. */
type ContentBlock = { type: string; [key: string]: unknown };

/** What `tools/call` answered (or, from a server of the first protocol version, `toolResult`). */
export type CallResult = {
  content?: readonly ContentBlock[];
  structuredContent?: Record<string, unknown> | undefined;
  isError?: boolean | undefined;
  toolResult?: unknown;
};

const text = (value: unknown): string => (typeof value === "string" ? value : "");
const size = (value: unknown): number => (typeof value === "string" ? Math.floor((value.length * 3) / 4) : 0);

/** A content block as text for the model: text as it is; images, audio and blobs named, not inlined. */
function blockText(block: ContentBlock): string {
  switch (block.type) {
    case "text":
      return text(block.text);
    case "image":
    case "audio":
      return `[${block.type} ${text(block.mimeType) || "of unknown type"}, ${size(block.data)} bytes, not shown]`;
    case "resource_link":
      return `[resource link: ${text(block.uri)}${block.name ? ` (${text(block.name)})` : ""}]`;
    case "resource": {
      const resource = (typeof block.resource === "object" && block.resource !== null ? block.resource : {}) as Record<string, unknown>;
      if (typeof resource.text === "string") return resource.text;
      return `[resource ${text(resource.uri)}: ${text(resource.mimeType) || "binary"}, ${size(resource.blob)} bytes, not shown]`;
    }
    default:
      return `[${String(block.type).slice(0, 40)} content, not shown]`;
  }
}

/**
 * A server's answer as a result for the model: its content as text (cut at MAX_OUTPUT_CHARACTERS, saying so), its
 * `structuredContent` as the data (when not too large), `isError` as a failure. Redaction comes after, in `runTool`.
 */
export function toolResultOf(roomName: string, result: CallResult): ToolResult {
  const content = result.content ?? ("toolResult" in result ? [{ type: "text", text: JSON.stringify(result.toolResult) ?? "" }] : []);
  const blocks = content.map(blockText).filter((part) => part !== "");
  const structured = result.structuredContent;
  const structuredText = structured === undefined ? undefined : JSON.stringify(structured);
  const whole = blocks.length > 0 ? blocks.join("\n") : (structuredText ?? "(no content)");
  const shown = cutOutput(whole);
  const data: JsonValue | undefined =
    structuredText !== undefined && structuredText.length <= MAX_DATA_CHARACTERS
      ? (structured as JsonValue)
      : whole.length <= MAX_DATA_CHARACTERS
        ? whole
        : undefined;
  if (result.isError === true) return { ok: false, output: `Error: ${roomName} failed: ${shown}`, ...(data !== undefined ? { data } : {}) };
  return { ok: true, output: shown, ...(data !== undefined ? { data } : {}) };
}
