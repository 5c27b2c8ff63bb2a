import type { LineEditor } from "./line-editor/line-editor.ts";
import type { CommandContext } from "../../room/command-context.ts";
import type { FrontEnd } from "../../room/command-spec.ts";
import { readLine, runCommand } from "../../room/interpret-command.ts";
import { terminalLines } from "./command-lines.ts";

/** What the loop needs from the room and the terminal. */
export type ChatLoopContext = {
  /** What the room's commands act on. */
  host: CommandContext;
  /** `piped` when the room's input is a script's, not a person's typing: the commands that need a person are refused. */
  frontEnd: Extract<FrontEnd, "terminal" | "piped">;
  /**
   * Sends one user message as a turn; resolves when the turn (hops included) is over, or to `{ edit }` when the
   * message was not sent and goes back on the line for the user to change (the credential question's "edit").
   */
  send(text: string, signal: AbortSignal): Promise<unknown>;
  /** Writes org's terminal text (newlines included), starting on a line of its own below a reply cut off mid-line. */
  write(text: string): void;
  /** Called by /clear after the room forgot its messages. */
  clearScreen(): void;
  /** Runs one line's work (a turn, a command) so that nothing replaces the room meanwhile (a config reload waits). */
  exclusive?<T>(work: () => Promise<T>): Promise<T>;
};

export type LineOutcome = "continue" | "quit" | { edit: string };

/** Whether `send` handed the message back for editing. */
function isEdit(value: unknown): value is { edit: string } {
  return typeof value === "object" && value !== null && "edit" in value && typeof value.edit === "string";
}

/** What one Ctrl-C says, whether it stopped a turn or came at the prompt. */
export const CTRL_C_AGAIN = "Press Ctrl-C again to leave, or type /quit.";

/**
 * Handles one line as the user typed it: a message becomes a turn, a slash command runs, a mistake is
 * explained. Used by the interactive chat and by the demo, which types its lines through here.
 */
export async function handleLine(line: string, context: ChatLoopContext, signal: AbortSignal): Promise<LineOutcome> {
  return context.exclusive ? context.exclusive(() => handleParsedLine(line, context, signal)) : handleParsedLine(line, context, signal);
}

async function handleParsedLine(line: string, context: ChatLoopContext, signal: AbortSignal): Promise<LineOutcome> {
  const read = readLine(line, context.frontEnd);
  if (read.type === "empty") return "continue";
  if (read.type === "message") {
    const sent = await context.send(read.text, signal);
    // What goes back on the line is what the user typed (a `//` line keeps both slashes).
    return isEdit(sent) ? { edit: line } : "continue";
  }
  const answer = read.type === "answer" ? read.answer : await runCommand(read.command, context.frontEnd, context.host, signal);
  if (answer.effect === "cleared") context.clearScreen();
  for (const text of terminalLines(answer)) context.write(`${text}\n`);
  return answer.effect === "quit" ? "quit" : "continue";
}

/**
 * The interactive loop: read a line, handle it, repeat. Ctrl-C while a turn runs stops that turn (the
 * room stays); Ctrl-C twice in a row leaves, and so do Ctrl-D on an empty line and /quit.
 */
export async function runChatLoop(
  editor: LineEditor,
  context: ChatLoopContext,
  options: { prompt: () => string; signal: AbortSignal },
): Promise<void> {
  let interruptsInARow = 0;
  let putBack: string | undefined;
  while (!options.signal.aborted) {
    const result = await editor.readLine(options.prompt(), putBack !== undefined ? { initialText: putBack } : {});
    putBack = undefined;
    if (result.type === "eof") return;
    if (result.type === "cancelled") continue; // no signal is given here: only for the types' sake
    if (result.type === "interrupt") {
      if (result.text.trim() !== "") continue; // Ctrl-C on a typed line just clears it, as in a shell
      interruptsInARow += 1;
      if (interruptsInARow >= 2) return;
      context.write(`${CTRL_C_AGAIN}\n`);
      continue;
    }
    interruptsInARow = 0;
    const work = new AbortController();
    // The second Ctrl-C leaves at once, even if the stopped turn is slow to wind down.
    let leave: () => void = () => {};
    const leaving = new Promise<"leave">((resolve) => (leave = () => resolve("leave")));
    const onOuterAbort = () => work.abort(options.signal.reason);
    options.signal.addEventListener("abort", onOuterAbort, { once: true });
    editor.onInterrupt(() => {
      interruptsInARow += 1;
      if (interruptsInARow >= 2) leave();
      else context.write(`(stopped with Ctrl-C) ${CTRL_C_AGAIN}\n`);
      work.abort(new Error("stopped with Ctrl-C"));
    });
    try {
      const outcome = await Promise.race([handleLine(result.text, context, work.signal), leaving]);
      if (outcome === "quit" || outcome === "leave") return;
      if (isEdit(outcome)) putBack = outcome.edit;
    } catch (error) {
      // The room reports turn failures as events; anything that still escapes is shown, not fatal.
      if (!work.signal.aborted) context.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
      editor.onInterrupt(undefined);
      options.signal.removeEventListener("abort", onOuterAbort);
    }
  }
}
