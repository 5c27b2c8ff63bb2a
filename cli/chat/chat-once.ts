import type { IncompleteReply } from "../../room/room-event.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { standardOutput } from "../terminal/standard-output.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { createApprovalPrompt } from "./approval-prompt.ts";
import { type ChatSetup, checkServers, memoryRecall, openChatRoom, personaColors, shownPath } from "./chat-room.ts";
import { createConsoleRenderer } from "./console-renderer.ts";
import { groupMisspelling } from "./held-message.ts";
import type { CommandAnswer, ReadCommand } from "../../room/command-spec.ts";
import { readLine, runCommand } from "../../room/interpret-command.ts";
import { terminalLines } from "./command-lines.ts";
import { ToolOutputs } from "../../room/tool-outputs.ts";

/** Why `--once` exits 1 though no reply failed outright. */
const INCOMPLETE: Record<IncompleteReply["reason"], string> = {
  "max-rounds": "its tool loop hit limits.toolRoundsPerTurn before a final answer (exit 1).",
  "repeated-call": "its tool loop was stopped for repeating the same call (exit 1).",
  "reply-chars": "it was cut at limits.replyChars characters (exit 1).",
  "tool-failed": "the last command it ran in the sandbox failed (exit 1).",
};

/** What `--once TEXT` does: send a message, or run a slash command as the room would; never a command sent as text. */
export type OnceInput = { type: "message"; text: string } | { type: "command"; command: ReadCommand };

/**
 * Reads `--once`'s text as the room reads a typed line (`//` sends a line that starts with `/`). A slash command is run
 * as in the room; one typed wrong, `/quit` (there is no room to leave), and one that confirms or starts a server, lowers
 * a guard or writes where its words say, are refused with the reason (exit 2), before a session is made (the room's
 * list of commands says which, for the front end `once`). Nothing that starts with `/` reaches the models unless it
 * starts with `//`.
 */
export function onceInput(text: string): OnceInput | { refused: string } {
  const read = readLine(text, "once");
  switch (read.type) {
    case "answer":
      return { refused: read.answer.lines.join("\n") };
    case "empty":
      return { refused: "--once needs a non-empty message" };
    case "command":
    case "message":
      return read;
  }
}

/** Standard output that a reader may close (`| head`): writes stop quietly, and `gone` aborts what runs. */
function stdoutWriter() {
  const output = standardOutput(1);
  const gone = new AbortController();
  const onError = () => gone.abort(new Error("standard output was closed"));
  const stopHearing = output.onFailure(onError);
  const print = (chunk: string) => {
    if (gone.signal.aborted) return;
    try {
      output.write(chunk);
    } catch {
      onError();
    }
  };
  return { print, gone: gone.signal, columns: output.columns, close: () => !gone.signal.aborted && stopHearing() };
}

/** What org says on stderr quotes models and servers too: it passes the terminal sanitizer. */
const warn = (line: string) => standardOutput(2).write(`org: ${sanitizeForTerminal(line)}\n`);

/**
 * The room for one `--once` run: its events printed by the console renderer, or as JSON lines; tool results kept for
 * `/output`. A slash command sends no turn, so no persona calls sh: its sandbox is not started ahead (`prepareTools`).
 */
async function openOnceRoom(setup: ChatSetup, out: ReturnType<typeof stdoutWriter>, prepareTools = true) {
  const { print } = out;
  const { options } = setup;
  // Numbered as the room numbers them: a resumed session's results first, so `--resume --once "/output N"` finds them.
  const outputs = new ToolOutputs();
  const renderer = createConsoleRenderer({
    write: print,
    color: setup.color,
    personaColors: personaColors(setup.config),
    columns: out.columns,
    toolOutputs: outputs,
  });
  const approve = createApprovalPrompt({ assumeYes: options.yes, notify: warn });
  const opened = await openChatRoom(
    setup,
    approve,
    (event) => {
      // Exact text, but DEL, C1 and bidi controls as \uXXXX too, in case the lines go to a terminal.
      if (options.json) print(`${terminalSafeJson(event)}\n`);
      else renderer.handle(event);
    },
    { prepareTools },
  );
  outputs.addMessages(opened.room.history());
  return { ...opened, renderer, outputs };
}

/** `--once TEXT`: one turn (or one slash command), printed by the console renderer or as JSON lines; exit 1 when a reply failed. */
export async function runOnce(setup: ChatSetup, input: OnceInput, signal: AbortSignal): Promise<number> {
  if (input.type === "command") return runOnceCommand(setup, input.command, signal);
  const { options } = setup;
  const out = stdoutWriter();
  const { dead, missing } = await checkServers(setup.config, signal);
  if (dead) {
    if (options.json) out.print(`${terminalSafeJson({ type: "error", kind: "unreachable", message: dead })}\n`);
    warn(dead);
    return 1;
  }
  for (const line of missing) warn(line);
  const { room, mcp, renderer } = await openOnceRoom(setup, out);
  // Without a line editor the terminal is in cooked mode: Ctrl-C arrives as SIGINT and stops the turn.
  const stop = new AbortController();
  const onInterrupt = () => stop.abort(new Error("stopped with Ctrl-C"));
  process.on("SIGINT", onInterrupt);
  try {
    // One turn: its MCP servers get their first start (at most mcp.startTimeoutS) so their tools are there for it.
    await mcp?.ready(signal);
    // A misspelt @name in group mode would send the message to everyone: refused, with the likely name.
    const misspelt = groupMisspelling(room, input.text);
    if (misspelt) {
      sayMisspelt(setup, `${misspelt.problem}; the message was not sent. Send it again as: ${misspelt.corrected}`);
      return 2;
    }
    const summary = await room.send(input.text, { signal: AbortSignal.any([signal, stop.signal, out.gone]) });
    await renderer.idle();
    // The stopped replies end quietly (one report, not one per persona): this is it.
    if (stop.signal.aborted) warn("stopped with Ctrl-C");
    if (!options.json) standardOutput(2).write(`transcript: ${sanitizeForTerminal(shownPath(room.transcriptPath))}\n`);
    for (const reply of summary.incomplete) warn(`${reply.persona}'s reply is incomplete: ${INCOMPLETE[reply.reason]}`);
    return summary.ok && summary.incomplete.length === 0 && !stop.signal.aborted && !out.gone.aborted ? 0 : 1;
  } finally {
    process.off("SIGINT", onInterrupt);
    await room.close();
    await mcp?.close();
    out.close();
  }
}

/**
 * `--once "/wish …"`, `--once /mode direct:python`, …: the command run on the session as the room runs it (nothing is
 * sent to the models), its lines printed (under `--json`, one `{"type":"command",…}` line after the room's events);
 * exit 1 when it failed. `/help` opens no session. The model servers are not asked first: a command needs none, and
 * `/models` says itself which server does not answer.
 */
async function runOnceCommand(setup: ChatSetup, command: ReadCommand, signal: AbortSignal): Promise<number> {
  const { options } = setup;
  const out = stdoutWriter();
  const lines: string[] = [];
  const finish = (answer: CommandAnswer) => {
    for (const line of terminalLines(answer)) {
      lines.push(line);
      if (!options.json) out.print(`${sanitizeForTerminal(line)}\n`);
    }
    if (options.json) out.print(`${terminalSafeJson({ type: "command", command: command.name, ok: answer.ok, lines })}\n`);
    out.close();
    return answer.ok ? 0 : 1;
  };
  if (command.entry.needsNoRoom) return finish(await runCommand(command, "once", undefined, signal));
  const { room, mcp, renderer, memory, outputs } = await openOnceRoom(setup, out, false);
  try {
    // /mcp shows each server as its first start left it, not "starting".
    if (command.entry.waitsForServers) await mcp?.ready(signal);
    // The commands' context (its /save, /mcp, /output…) loads only for a command, not for a message.
    const { roomSlashHost } = await import("./room-slash-host.ts");
    const host = roomSlashHost(room, setup.config, setup.workspaceDir, memoryRecall(memory), mcp, outputs);
    const answer = await runCommand(command, "once", host, signal);
    await renderer.idle();
    if (!options.json) standardOutput(2).write(`transcript: ${sanitizeForTerminal(shownPath(room.transcriptPath))}\n`);
    return finish(answer);
  } finally {
    await room.close();
    await mcp?.close();
  }
}

/** A misspelt @name: said on stderr, and as a JSON error line under `--json`. */
export function sayMisspelt(setup: Pick<ChatSetup, "options">, message: string): void {
  if (setup.options.json) standardOutput(1).write(`${terminalSafeJson({ type: "error", kind: "unknown-persona", message })}\n`);
  standardOutput(2).write(`org: ${sanitizeForTerminal(message)}\n`);
}
