import { runFactsCommand } from "../memory/facts-command.ts";
import { join } from "node:path";
import { parseInput, type SlashCommand } from "../cli/chat/slash-commands.ts";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { tokensOnDay, transcriptTokens } from "../room/tokens-used.ts";
import { escapeHtml, PART_CHARS } from "./telegram-html.ts";
import type { TelegramChat } from "./telegram-chat.ts";

// The room's own commands as a chat runs them: /clear, /models, /use, /memory (the terminal's /recall), /facts and /mcp are
// read by the room's one command parser (cli/chat/slash-commands.ts), so they take what the terminal takes; /budget is
// the chat's own.

/** A command's answer, as the chat says it: HTML, or a long text that goes as a file. */
export type RoomCommandAnswer = { html: string } | { file: { fileName: string; content: string }; caption: string };

/** What the room commands need beside the chat's room: memory's search and the MCP servers' status, when there are any. */
export type RoomCommandDeps = {
  workspaceDir: string;
  /** limits.sessionTokens: the session's token budget. */
  sessionTokens: number;
  /** limits.tokensPerDay: every session's tokens in a day, when set. */
  tokensPerDay?: number;
  recall?: (query: string, signal: AbortSignal) => Promise<string>;
  mcpStatus?: () => string[];
  /** The room's secret set: a fact accepted with /facts is saved redacted with it. */
  secrets?: readonly string[];
  signal: AbortSignal;
  /** The start of the day /budget counts from (default: midnight UTC today). */
  now?: () => Date;
};

const said = (text: string): RoomCommandAnswer =>
  text.length > PART_CHARS - 20
    ? { file: { fileName: "answer.txt", content: text }, caption: "the answer is long: here it is as a file" }
    : { html: escapeHtml(text) };

/** The names of the room's commands a chat runs here (the chat's own `/memory` is the room's `/recall`). */
export const ROOM_COMMAND_NAMES = new Set(["clear", "models", "use", "budget", "memory", "mcp", "facts"]);

/** Reads `/name argument` with the room's parser; a refusal is said as the terminal says it. */
function parsed(name: string, argument: string): SlashCommand | string {
  const input = parseInput(`/${name === "memory" ? "recall" : name}${argument === "" ? "" : ` ${argument}`}`);
  if (input.type === "command") return input.command;
  if (input.type === "invalid") return input.message.replace(/\/recall\b/g, "/memory");
  return `/${name} is not a command here`;
}

/** Runs one of ROOM_COMMAND_NAMES for `chat`. */
export async function runRoomCommand(chat: TelegramChat, name: string, argument: string, deps: RoomCommandDeps): Promise<RoomCommandAnswer> {
  if (name === "budget") return said(await budget(chat, argument, deps));
  const command = parsed(name, argument);
  if (typeof command === "string") return said(command);
  switch (command.name) {
    case "clear":
      await chat.withRoom((room) => room.clear());
      return said("cleared: the personas forget this conversation from here on (the session's transcript keeps it).");
    case "models":
      return said(await models(chat, deps.signal));
    case "use":
      await chat.withRoom((room) => room.useModel(command.persona, command.model, deps.signal));
      return said(`${command.persona} now uses ${command.model}.`);
    case "recall":
      return said(deps.recall ? (await deps.recall(command.query, deps.signal)).trim() || "nothing found" : "memory is off for this workspace.");
    case "facts":
      return said(runFactsCommand(command.argument, { workspaceDir: deps.workspaceDir, ...(deps.secrets ? { secrets: deps.secrets } : {}) }));
    case "mcp":
      // Confirming a server starts a program on this machine: that stays an act at the terminal.
      if (command.trust !== undefined) return said(`/mcp trust is for the terminal: run 'org chat' there and type /mcp trust ${command.trust}.`);
      return said(
        deps.mcpStatus ? deps.mcpStatus().join("\n") || "no MCP servers" : 'no MCP servers: add them under "mcpServers" in org.config.json.',
      );
    default:
      return said(`/${name} is not a command here`);
  }
}

async function models(chat: TelegramChat, signal: AbortSignal): Promise<string> {
  const { personas, servers } = await chat.withRoom(async (room) => ({ personas: room.personas(), servers: await room.serverModels(signal) }));
  const lines = personas.map((persona) => `${persona.name}: ${persona.model} on ${persona.server}`);
  for (const server of servers) {
    lines.push(
      "error" in server
        ? `${server.server}: cannot list models (${server.error})`
        : `${server.server} has: ${server.models.join(", ") || "(no models)"}`,
    );
  }
  lines.push("Switch one with /use PERSONA MODEL.");
  return lines.join("\n");
}

async function budget(chat: TelegramChat, argument: string, deps: RoomCommandDeps): Promise<string> {
  if (argument !== "") return "/budget takes nothing";
  const path = await chat.withRoom((room) => room.transcriptPath);
  const used = transcriptTokens(path);
  const now = deps.now?.() ?? new Date();
  const today = tokensOnDay(join(deps.workspaceDir, SESSIONS_DIR), now);
  const left = Math.max(deps.sessionTokens - used, 0);
  const perDay = deps.tokensPerDay;
  return [
    `this session: ${used} tokens used, ${left} left of ${deps.sessionTokens} (limits.sessionTokens).`,
    `today (since 00:00 UTC), every session of this workspace: ${today} tokens used` +
      (perDay === undefined
        ? "; no daily limit (limits.tokensPerDay sets one)."
        : `, ${Math.max(perDay - today, 0)} left of ${perDay} (limits.tokensPerDay).`),
  ].join("\n");
}
