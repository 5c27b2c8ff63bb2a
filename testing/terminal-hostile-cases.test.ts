import { describe, expect, test } from "bun:test";
import { createConsoleRenderer } from "../cli/console-renderer.ts";
import { TERMINAL_HOSTILE_CASES, terminalControlProblem } from "./terminal-hostile-cases.ts";

async function screenOf(events: (typeof TERMINAL_HOSTILE_CASES)[number]["events"], color: boolean, columns?: number) {
  let screen = "";
  const renderer = createConsoleRenderer({ write: (text) => (screen += text), color, columns: () => columns });
  for (const event of events) renderer.handle(event);
  await renderer.idle();
  return screen;
}

describe("invariant 10: hostile text reaches the terminal only as visible escapes, through the real console renderer", () => {
  for (const hostile of TERMINAL_HOSTILE_CASES) {
    test(`${hostile.source}: ${hostile.name}`, async () => {
      expect(hostile.expect(await screenOf(hostile.events, false))).toBeUndefined();
      expect(hostile.expect(await screenOf(hostile.events, true))).toBeUndefined();
      // Wrapped to a narrow terminal the pieces move apart, but nothing raw gets through.
      expect(terminalControlProblem(await screenOf(hostile.events, true, 24))).toBeUndefined();
    });
  }

  test("the table covers every source of outside text", () => {
    const sources = new Set(TERMINAL_HOSTILE_CASES.map((hostile) => hostile.source));
    expect([...sources].sort()).toEqual(["config", "model text", "notice", "reasoning", "room state", "server error", "tool call", "tool output"]);
  });
});
