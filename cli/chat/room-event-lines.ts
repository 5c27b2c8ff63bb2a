import type { RoomEvent } from "../../room/room-event.ts";
import type { Style } from "../terminal/ansi.ts";
import { FAILURE_WIDTH, failureText } from "./reply-lines.ts";
import { oneLine } from "../../security/terminal-sanitizer.ts";
import { describeCompaction } from "../../room/compaction-line.ts";
import { toolResultSummary } from "../../room/tool-summary.ts";

/** A line the console shows, before sanitizing and painting. */
export type EventLine = { text: string; style?: Style };

type Of<T extends RoomEvent["type"]> = Extract<RoomEvent, { type: T }>;

/** Lines of a tool's output the room shows under its result, and how much of each. */
export const OUTPUT_PREVIEW = { lines: 6, width: 200 };

/**
 * `✓ sh · 12 ms · 3 lines of output · /output 4`, or `✗ sh: why · /output 4` in red; `number` is the result's in `/output`.
 * A tool with a summary of its own says that instead of its name and lines: `✓ 14 links, 3 inputs · 812 ms · /output 5`.
 */
export function toolResultLine(event: Of<"tool-result">, number?: number): EventLine {
  const lines = event.output === "" ? 0 : event.output.split("\n").length;
  const more = number === undefined ? "" : ` · /output ${number}`;
  const summary = event.ok ? toolResultSummary(event.call.name, event.data) : undefined;
  if (summary) return { text: `✓ ${oneLine(summary.text, FAILURE_WIDTH)} · ${event.durationMs} ms${more}`, style: "dim" };
  if (event.ok)
    return { text: `✓ ${event.call.name} · ${event.durationMs} ms · ${lines} line${lines === 1 ? "" : "s"} of output${more}`, style: "dim" };
  return { text: `✗ ${event.call.name}: ${oneLine(failureText(event.call.name, event.output), FAILURE_WIDTH)}${more}`, style: "red" };
}

/**
 * The first lines of a successful tool's output, indented under its result line (each cut at a width), and how many
 * more there are with the `/output` that shows them. A failure's line already says its output; it gets none.
 */
export function toolOutputPreview(event: Of<"tool-result">, number?: number): EventLine[] {
  if (!event.ok || event.output === "") return [];
  const lines = event.output.replace(/\n$/, "").split("\n");
  const shown = lines.slice(0, OUTPUT_PREVIEW.lines).map((line) => ({
    text: `  ${line.length > OUTPUT_PREVIEW.width ? `${line.slice(0, OUTPUT_PREVIEW.width - 1)}…` : line}`,
    style: "dim" as const,
  }));
  const rest = lines.length - shown.length;
  if (rest > 0)
    shown.push({ text: `  … ${rest} more line${rest === 1 ? "" : "s"}${number === undefined ? "" : `: /output ${number}`}`, style: "dim" });
  return shown;
}

/** One step of a multi-step reply: `✓ tests: done · 9 passed`. */
export function progressLine(event: Of<"progress">): EventLine {
  const mark = event.status === "done" ? "✓" : event.status === "failed" ? "✗" : event.status === "skipped" ? "·" : "…";
  const detail = event.detail ? ` · ${oneLine(event.detail, 200)}` : "";
  return { text: `${mark} ${oneLine(event.step, 60)}: ${event.status}${detail}`, style: event.status === "failed" ? "red" : "dim" };
}

/** The line of a room event that belongs to no reply, or undefined for events that show none. */
export function roomNoticeLine(event: RoomEvent): EventLine | undefined {
  switch (event.type) {
    case "mode":
      return { text: `· mode is now ${event.mode}${event.by === "user" ? "" : ` (set by ${event.by})`}`, style: "gray" };
    case "model-changed":
      return { text: `· ${event.persona} now uses ${event.model}`, style: "gray" };
    case "notice":
      if (event.reason === "wish") return { text: `· wish noted for org grow: ${event.message}`, style: "yellow" };
      return { text: `· ${event.message}`, style: "yellow" };
    case "cleared":
      return { text: "· history cleared", style: "gray" };
    case "compaction":
      return { text: `· ${describeCompaction(event)}`, style: "gray" };
    case "error":
      return { text: `✗ ${event.persona ? `${event.persona}: ` : ""}${event.message}`, style: "red" };
    default:
      return undefined;
  }
}
