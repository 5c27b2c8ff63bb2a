import type { ToolCall } from "../../llm/chat-types.ts";
import type { PersonaStats } from "../../room/room-event.ts";

/** A reply's figures as its closing line shows them. */
export function formatStats(stats: PersonaStats): string {
  const parts = [`${stats.completionTokens} tok`];
  if (stats.tokensPerSecond > 0) parts.push(`${stats.tokensPerSecond} tok/s`);
  if (stats.firstTokenMs !== null) parts.push(`first token ${stats.firstTokenMs} ms`);
  if (stats.queuedMs >= 50) parts.push(`queued ${stats.queuedMs} ms`);
  parts.push(`${(stats.durationMs / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

// A failed tool's message often says how to fix the failure; it gets room for that.
export const FAILURE_WIDTH = 400;
const PREVIEW_WIDTH = 100;
/** A call a tool sums up itself (`⚙ browser open https://…`): a URL gets more room than a JSON preview. */
export const CALL_SUMMARY_WIDTH = 200;

/** A failed tool's output without the "Error: NAME" the model is given, since the line already names the tool. */
export function failureText(name: string, output: string): string {
  const text = output.replace(/^Error: /, "");
  return text.startsWith(`${name} `) ? text.slice(name.length + 1) : text;
}

/** The `⚙` preview of a call: its JSON with indentation kept (newlines show as `\n`), cut at `max`. */
export function callPreview(call: ToolCall, max = PREVIEW_WIDTH): string {
  const json = JSON.stringify(call.arguments) ?? "null";
  return json.length > max ? `${json.slice(0, max - 1)}…` : json;
}

/** After this long without a byte, the status says what is known about the wait. */
export const SLOW_FIRST_BYTE_MS = 10_000;

/** What a persona is waiting for and how long it has: org never gives up on a slow first byte by itself. */
export function waitingText(persona: string, reason: "queued" | "first-token", waitedMs: number): string {
  const waited = `${Math.floor(waitedMs / 1000)} s`;
  if (reason === "queued") return `${persona} queued ${waited} (the server is busy with another reply)`;
  const slow = waitedMs >= SLOW_FIRST_BYTE_MS ? " · no byte yet; the server may be loading the model (org keeps waiting; Ctrl-C stops)" : "";
  return `${persona} thinking ${waited}${slow}`;
}
