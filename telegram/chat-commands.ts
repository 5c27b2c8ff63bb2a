import { formatRoomMode } from "../room/room-mode.ts";
import { escapeHtml, PART_CHARS } from "./telegram-html.ts";
import type { TelegramChat } from "./telegram-chat.ts";
import { ROOM_COMMAND_NAMES, type RoomCommandDeps, runRoomCommand } from "./room-commands.ts";

/** The commands the bot registers with setMyCommands (Telegram's `/` menu), in the menu's order. */
export const TELEGRAM_COMMANDS = [
  { command: "start", description: "Say hello; show this chat's room session" },
  { command: "status", description: "Instances, growth and the supervisor" },
  { command: "mode", description: "Show or set the room's mode: /mode group, /mode direct:agent" },
  { command: "tools", description: "The personas and the tools each may use" },
  { command: "undo", description: "Undo the newest change to the workspace" },
  { command: "wish", description: "Wish for what org cannot do yet: /wish a currency converter" },
  { command: "stop", description: "Stop the running replies and the messages waiting" },
  { command: "clear", description: "The personas forget this conversation (the transcript keeps it)" },
  { command: "models", description: "Each persona's model and server, and the models the servers have" },
  { command: "use", description: "Switch a persona's model: /use agent qwen3:8b" },
  { command: "budget", description: "Tokens used and left: this session, and today" },
  { command: "memory", description: "Search the workspace's memory: /memory staging database" },
  { command: "facts", description: "What the observer learned about you, waiting for you: /facts accept 1, /facts reject 2" },
  { command: "mcp", description: "The MCP servers and their state (confirming one is for the terminal)" },
] as const;

/** A command's answer: HTML for a message, or a long text that goes as a file. */
export type CommandAnswer = { html: string } | { file: { fileName: string; content: string }; caption: string };

/** What the commands may ask beside the chat's room: `/status`'s text (instances, grow, supervisor), and the room commands'. */
export type CommandDeps = { status: (signal: AbortSignal) => Promise<string>; signal: AbortSignal; room: RoomCommandDeps };

const said = (text: string): CommandAnswer => ({ html: escapeHtml(text) });

/** `/name@bot rest` → the command's name (lowercase, without the bot) and the rest; undefined when it is no command. */
export function commandOf(text: string): { name: string; argument: string } | undefined {
  const match = /^\/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return undefined;
  return { name: (match[1] ?? "").toLowerCase(), argument: (match[2] ?? "").trim() };
}

function commandList(): string {
  return TELEGRAM_COMMANDS.map((entry) => `/${entry.command} — ${escapeHtml(entry.description)}`).join("\n");
}

async function start(chat: TelegramChat): Promise<CommandAnswer> {
  const session = await chat.session();
  const id = escapeHtml(session);
  return {
    html: [
      "<b>org is listening.</b> Write to the room as you would in the terminal; replies stream here, and tools that ask first show Approve and Deny.",
      `This chat is room session <code>${id}</code>: resume it in a terminal with <code>org chat --resume ${id}</code>, or open it in the web room.`,
      "",
      commandList(),
    ].join("\n"),
  };
}

async function status(deps: CommandDeps): Promise<CommandAnswer> {
  const text = (await deps.status(deps.signal)).trim() || "nothing to report";
  if (text.length > PART_CHARS - 20) return { file: { fileName: "status.txt", content: text }, caption: "org status" };
  return { html: `<pre>${escapeHtml(text)}</pre>` };
}

async function mode(chat: TelegramChat, argument: string): Promise<CommandAnswer> {
  return chat.withRoom((room) => {
    if (argument === "") {
      const names = room.personas().map((persona) => persona.name);
      return said(
        `mode: ${formatRoomMode(room.mode)}. Set it with /mode group (everyone answers), /mode direct:NAME ` +
          `(${names.join(", ")}) or /mode file:PATH.md (replies go to a file).`,
      );
    }
    // A refusal (RoomModeError) names the valid modes; the caller says it.
    room.setMode(argument);
    return said(`mode: ${formatRoomMode(room.mode)}`);
  });
}

async function tools(chat: TelegramChat): Promise<CommandAnswer> {
  const lines = await chat.withRoom((room) =>
    room.personas().map((persona) => {
      const offered = persona.tools.map((tool) => `${tool}${persona.policies[tool] === "ask" ? " (asks)" : ""}`);
      return `<b>${escapeHtml(persona.name)}</b>: ${escapeHtml(offered.join(", ") || "no tools")}`;
    }),
  );
  return { html: lines.join("\n") };
}

async function undo(chat: TelegramChat): Promise<CommandAnswer> {
  const record = await chat.withRoom((room) => room.undo());
  return said(`undid change ${record.id}: ${record.files.length} file${record.files.length === 1 ? "" : "s"} restored.`);
}

async function wish(chat: TelegramChat, argument: string): Promise<CommandAnswer> {
  if (argument === "") return said("a wish needs words: /wish a tool that converts currencies");
  await chat.withRoom((room) => room.wish(argument));
  return said("wished: org grow reads it from this session.");
}

async function stop(chat: TelegramChat): Promise<CommandAnswer> {
  const { turns, dropped } = await chat.stop();
  if (turns === 0 && dropped === 0) return said("nothing was running.");
  return said(
    `stopped ${turns} running turn${turns === 1 ? "" : "s"}${
      dropped > 0 ? `; ${dropped} waiting ` + `message${dropped === 1 ? "" : "s"} will not run` : ""
    }.`,
  );
}

/** Runs the command `name` for `chat`; a refusal (a bad mode, nothing to undo) is said as its message. */
export async function runCommand(chat: TelegramChat, command: { name: string; argument: string }, deps: CommandDeps): Promise<CommandAnswer> {
  try {
    if (ROOM_COMMAND_NAMES.has(command.name)) return await runRoomCommand(chat, command.name, command.argument, deps.room);
    switch (command.name) {
      case "start":
      case "help":
        return await start(chat);
      case "status":
        return await status(deps);
      case "mode":
        return await mode(chat, command.argument);
      case "tools":
        return await tools(chat);
      case "undo":
        return await undo(chat);
      case "wish":
        return await wish(chat, command.argument);
      case "stop":
        return await stop(chat);
      default:
        return { html: `there is no /${escapeHtml(command.name)} here. Commands:\n${commandList()}` };
    }
  } catch (error) {
    return said(`/${command.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
