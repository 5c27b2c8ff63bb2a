import { describe, expect, test } from "bun:test";
import { askOnConsole, createApprovalPrompt } from "../cli/chat/approval-prompt.ts";
import { createConsoleRenderer } from "../cli/chat/console-renderer.ts";
import { TERMINAL_HOSTILE_CASES, type TerminalHostileCase, terminalControlProblem } from "./terminal-hostile-cases.ts";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
/** Plays a case through the real console renderer (and the real approval prompt when it asks). */
async function screenOf(hostile: TerminalHostileCase, color: boolean, columns?: number) {
  let screen = "";
  const renderer = createConsoleRenderer({ write: (text) => (screen += text), color, columns: () => columns });
  for (const event of hostile.events) renderer.handle(event);
  let changedWhileOpen: string | undefined;
  if (hostile.question) {
    const { persona, call, whileOpen } = hostile.question;
    // Blocks get the console when a promise settles; let that happen before the question opens.
    await Bun.sleep(0);
    const approve = createApprovalPrompt({
      assumeYes: false,
      notify: (line) => renderer.print(renderer.ansi.text(`· ${line}\n`)),
      ask: askOnConsole(renderer, async (prompt) => {
        screen += `${prompt}n\n`; // what the line editor shows: the prompt and the typed answer
        const atOpen = screen;
        for (const event of whileOpen) renderer.handle(event);
        await Bun.sleep(0);
        if (screen !== atOpen) changedWhileOpen = `the screen changed while the question was open: ${JSON.stringify(screen.slice(atOpen.length))}`;
        return "n";
      }),
    });
    expect(await approve(persona, call)).toBe(false);
  }
  await renderer.idle();
  return { screen, changedWhileOpen };
}

describe("invariant 10: hostile text reaches the terminal only as visible escapes, through the real console renderer", () => {
  for (const hostile of TERMINAL_HOSTILE_CASES) {
    test(`${hostile.source}: ${hostile.name}`, async () => {
      for (const color of [false, true]) {
        const { screen, changedWhileOpen } = await screenOf(hostile, color);
        expect(changedWhileOpen).toBeUndefined();
        expect(hostile.expect(screen)).toBeUndefined();
      }
      // Wrapped to a narrow terminal the pieces move apart, but nothing raw gets through.
      expect(terminalControlProblem((await screenOf(hostile, true, 24)).screen)).toBeUndefined();
    });
  }

  test("the table covers every source of outside text", () => {
    const sources = new Set(TERMINAL_HOSTILE_CASES.map((hostile) => hostile.source));
    expect([...sources].sort()).toEqual([
      "approval question",
      "config",
      "model text",
      "notice",
      "reasoning",
      "room state",
      "server error",
      "tool call",
      "tool output",
    ]);
  });
});
