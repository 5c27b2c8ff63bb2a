import type { RoomEvent } from "../room/room-event.ts";
import type { Style } from "./ansi.ts";
import { FAILURE_WIDTH, failureText, oneLine } from "./reply-lines.ts";

/** A line the console shows, before sanitizing and painting. */
export type EventLine = { text: string; style?: Style };

type Of<T extends RoomEvent["type"]> = Extract<RoomEvent, { type: T }>;

/** `✓ sh · 12 ms · 3 lines of output`, or `✗ sh: why` in red. */
export function toolResultLine(event: Of<"tool-result">): EventLine {
  const lines = event.output === "" ? 0 : event.output.split("\n").length;
  if (event.ok) return { text: `✓ ${event.call.name} · ${event.durationMs} ms · ${lines} line${lines === 1 ? "" : "s"} of output`, style: "dim" };
  return { text: `✗ ${event.call.name}: ${oneLine(failureText(event.call.name, event.output), FAILURE_WIDTH)}`, style: "red" };
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
    case "error":
      return { text: `✗ ${event.persona ? `${event.persona}: ` : ""}${event.message}`, style: "red" };
    default:
      return undefined;
  }
}
