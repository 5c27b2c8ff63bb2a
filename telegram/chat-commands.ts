import type { OrgConfig } from "../config/org-config.ts";
import type { McpHub } from "../mcp-client/mcp-hub.ts";
import { runFactsCommand } from "../memory/facts-command.ts";
import { type CommandContext, roomCommandContext } from "../room/command-context.ts";
import type { CommandAnswer, ReadCommand } from "../room/command-spec.ts";
import { commandHelp, commandMenu, runCommand } from "../room/interpret-command.ts";
import { escapeHtml, PART_CHARS } from "./telegram-html.ts";
import type { TelegramChat } from "./telegram-chat.ts";

// A chat runs the room's commands (room/room-commands.ts, read by room/interpret-command.ts) and only says their answers.

/** The commands the bot registers with setMyCommands (Telegram's `/` menu): those the room's list offers a chat. */
export function telegramCommands(): Array<{ command: string; description: string }> {
  return commandMenu("telegram").map(({ command, description }) => ({ command, description }));
}

/** A command's answer as the chat says it: HTML for a message, or a long text that goes as a file. */
export type ChatAnswer = { html: string } | { file: { fileName: string; content: string }; caption: string };

/**
 * What the commands need beside the chat's room: the config's limits and routes (and the secrets a fact accepted with
 * `/facts` is saved redacted with), `/status`'s text, memory's search, the MCP servers.
 */
export type ChatCommandParts = {
  workspaceDir: string;
  config: Pick<OrgConfig, "models" | "limits"> & { secrets?: readonly string[] };
  status: (signal: AbortSignal) => Promise<string>;
  recall?: CommandContext["recall"];
  mcp?: McpHub;
  /** The start of the day /budget counts from (default: now). */
  now?: () => Date;
};

/** Runs a command read in `chat` on its room and says its answer. */
export async function runChatCommand(chat: TelegramChat, command: ReadCommand, parts: ChatCommandParts, signal: AbortSignal): Promise<ChatAnswer> {
  const { status, ...roomParts } = parts;
  // The observer's proposals belong to the workspace's memory, whichever chat answers them.
  const facts = (argument: string) => runFactsCommand(argument, { workspaceDir: parts.workspaceDir, secrets: parts.config.secrets ?? [] });
  try {
    const answer = await chat.withRoom((room) =>
      runCommand(
        command,
        "telegram",
        { ...roomCommandContext(room, { ...roomParts, facts }), chat: { session: () => chat.session(), status, stop: () => chat.stop() } },
        signal,
      ),
    );
    return chatAnswer(answer);
  } catch (error) {
    return { html: escapeHtml(`/${command.name}: ${error instanceof Error ? error.message : String(error)}`) };
  }
}

/** An answer in the chat's HTML: the welcome and the tools in bold, a long report or answer as a file. */
export function chatAnswer(answer: CommandAnswer): ChatAnswer {
  const view = answer.view;
  if (view?.kind === "welcome") {
    const id = escapeHtml(view.session);
    const list = commandHelp("telegram").map(escapeHtml);
    return {
      html: [
        "<b>org is listening.</b> Write to the room as you would in the terminal; replies stream here, " +
          "and tools that ask first show Approve and Deny.",
        `This chat is room session <code>${id}</code>: resume it in a terminal with <code>org chat --resume ${id}</code>, ` +
          "or open it in the web room.",
        "",
        ...list,
      ].join("\n"),
    };
  }
  if (view?.kind === "tools") {
    const lines = view.personas.map((persona) => {
      const offered = persona.tools.map((tool) => `${tool.name}${tool.approval === "ask" ? " (asks)" : ""}`);
      return `<b>${escapeHtml(persona.name)}</b>: ${escapeHtml(offered.join(", ") || "no tools")}`;
    });
    return { html: lines.join("\n") };
  }
  if (view?.kind === "report") {
    if (view.text.length > PART_CHARS - 20) return { file: { fileName: "status.txt", content: view.text }, caption: view.title };
    return { html: `<pre>${escapeHtml(view.text)}</pre>` };
  }
  const text = answer.lines.join("\n");
  return text.length > PART_CHARS - 20
    ? { file: { fileName: "answer.txt", content: text }, caption: "the answer is long: here it is as a file" }
    : { html: escapeHtml(text) };
}
