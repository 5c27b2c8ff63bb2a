import type { CommandContext } from "./command-context.ts";
import type { CommandAnswer, FrontEnd, ReadCommand, ReadLine, RoomCommand } from "./command-spec.ts";
import { roomCommands } from "./room-commands.ts";

/** The help each front end shows: its commands with their usage, or a Telegram chat's menu lines. */
export function commandHelp(frontEnd: FrontEnd): string[] {
  const offered = roomCommands().filter((entry) => entry.offeredIn.includes(frontEnd));
  if (frontEnd === "telegram") return offered.map((entry) => `/${entry.name} — ${entry.menu ?? entry.summary}`);
  const width = Math.max(...offered.map((entry) => entry.usage.length));
  return [
    "Commands:",
    ...offered.map((entry) => `  ${entry.usage.padEnd(width)}  ${entry.summary}`),
    "",
    // One line: the console wraps it between words at the terminal's width.
    "Anything else is a message to the room; @name addresses one persona. Start with // to send a line that begins with /." +
      (frontEnd === "web" ? "" : " Multi-line: end a line with \\ or press Alt-Enter. Ctrl-C stops a reply; twice leaves."),
  ];
}

/** How a refusal names where the line was typed. */
const WHERE: Record<FrontEnd, string> = {
  terminal: "the terminal's room",
  piped: "a room whose input is not a terminal",
  once: "org chat --once",
  web: "the web room",
  telegram: "a Telegram chat",
};

const TAIL = "Type /help for the list, or // to send a message starting with /.";

/** The entry named `word` (or one of its aliases), looked up so that `__proto__` names nothing. */
function entryNamed(word: string): RoomCommand | undefined {
  return roomCommands().find((entry) => entry.name === word || entry.aliases.includes(word));
}

/** A line typed wrong or refused: `org chat --once` adds that nothing was sent. */
function typedWrong(command: string, line: string, frontEnd: FrontEnd): ReadLine {
  return { type: "answer", answer: { command, ok: false, lines: [frontEnd === "once" ? `${line} Nothing was sent.` : line] } };
}

/**
 * Reads a line as every front end reads it: a message for the room (`//` sends a line that starts with `/`), nothing,
 * or a command of the list with its arguments checked. A command typed wrong, not offered in `frontEnd` or refused
 * there comes back as its answer, naming what was wrong and the usage. Never throws.
 */
export function readLine(line: string, frontEnd: FrontEnd): ReadLine {
  const trimmed = line.trim();
  if (trimmed === "") return { type: "empty" };
  if (trimmed.startsWith("//")) return { type: "message", text: trimmed.slice(1) };
  if (!trimmed.startsWith("/")) return { type: "message", text: line };
  const [typed = "", ...words] = trimmed.slice(1).split(/\s+/);
  // Telegram addresses a bot in a group as /mode@org_bot.
  const word = (frontEnd === "telegram" ? typed.replace(/@\w{1,64}$/, "") : typed).toLowerCase();
  const entry = entryNamed(word);
  if (!entry) {
    const guess = closestCommand(word, frontEnd);
    return typedWrong(word, `unknown command /${typed.slice(0, 40)}.${guess ? ` Did you mean /${guess}?` : ""} ${TAIL}`, frontEnd);
  }
  if (!entry.offeredIn.includes(frontEnd)) return typedWrong(entry.name, `/${entry.name} is not a command of ${WHERE[frontEnd]}. ${TAIL}`, frontEnd);
  const read = entry.read(words, frontEnd);
  if (!read.ok) return typedWrong(entry.name, `/${entry.name} ${read.problem}. Usage: ${entry.usage}`, frontEnd);
  if (read.refused !== undefined) return { type: "answer", answer: { command: entry.name, ok: false, lines: [read.refused] } };
  return { type: "command", command: read.command };
}

/**
 * Runs a command read by `readLine` (`context` undefined: no room is open, for one that `needsNoRoom`); what it could
 * not do is its answer (`/undo: nothing to undo…`), never a throw.
 */
export async function runCommand(
  command: ReadCommand,
  frontEnd: FrontEnd,
  context: CommandContext | undefined,
  signal: AbortSignal,
): Promise<CommandAnswer> {
  const { entry } = command;
  try {
    const answer = await command.run(context, signal);
    return answer.view?.kind === "help" ? { ...answer, lines: commandHelp(frontEnd) } : answer;
  } catch (error) {
    const why = signal.aborted ? `/${entry.name} was stopped.` : `/${entry.name}: ${error instanceof Error ? error.message : String(error)}`;
    return { command: entry.name, ok: false, lines: [why] };
  }
}

/** What one typed line is in `frontEnd`: a message for the room, nothing, or a command's answer (read, checked, run). */
export async function interpretCommand(
  line: string,
  frontEnd: FrontEnd,
  context: CommandContext,
  signal: AbortSignal,
): Promise<{ type: "message"; text: string } | { type: "empty" } | { type: "answer"; answer: CommandAnswer }> {
  const read = readLine(line, frontEnd);
  if (read.type !== "command") return read;
  return { type: "answer", answer: await runCommand(read.command, frontEnd, context, signal) };
}

/** Tab completion of a command name: the rest of the only command of `frontEnd` starting with what was typed. */
export function completeCommand(before: string, frontEnd: FrontEnd): string | undefined {
  const match = /^\/([a-z]*)$/i.exec(before);
  if (!match) return undefined;
  const typed = (match[1] ?? "").toLowerCase();
  const [only, ...others] = offeredNames(frontEnd).filter((name) => name.startsWith(typed));
  return only === undefined || others.length > 0 ? undefined : `${only.slice(typed.length)} `;
}

/** The commands `frontEnd` offers, for its menu (Telegram's setMyCommands) or the web page's completion. */
export function commandMenu(frontEnd: FrontEnd): Array<{ command: string; usage: string; description: string }> {
  return roomCommands()
    .filter((entry) => entry.offeredIn.includes(frontEnd))
    .map((entry) => ({ command: entry.name, usage: entry.usage, description: entry.menu ?? entry.summary }));
}

function offeredNames(frontEnd: FrontEnd): string[] {
  return roomCommands()
    .filter((entry) => entry.offeredIn.includes(frontEnd))
    .map((entry) => entry.name);
}

function closestCommand(word: string, frontEnd: FrontEnd): string | undefined {
  if (word === "") return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of offeredNames(frontEnd)) {
    const distance = name.startsWith(word) ? 0 : editDistance(word, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= 2 ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
