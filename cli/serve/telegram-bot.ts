import { telegramBotToken } from "../../config/environment.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import type { AuditSink } from "../../security/audit-log.ts";
import { BotApi } from "../../telegram/bot-api.ts";
import { runTelegramBridge } from "../../telegram/telegram-bridge.ts";
import type { TelegramFileOutlet } from "../../telegram/file-outlet.ts";
import type { TelegramSessions } from "../../telegram/telegram-chat.ts";
import type { MemoryStore } from "../../memory/memory-store.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import { embedderFromEnvironment } from "../../registry/ollama-embedder.ts";
import { formatMemoryOutcome } from "../terminal/format-memory-outcome.ts";
import { OrgError } from "../../errors/org-error.ts";

// What `org telegram` and `serve --telegram` share: the bot's token, and the bot over a session pool.

/** The bot's token, or an error that says where to get it. */
export function requireBotToken(): string {
  const token = telegramBotToken();
  if (token === undefined)
    throw new OrgError(
      "TELEGRAM_BOT_TOKEN is not set: ask BotFather in Telegram (/newbot, or /token for a bot you have) and " +
        "export the token it gives; org reads it from the environment only.",
    );
  return token;
}

/**
 * The Telegram bot over `sessions` until `signal` aborts: its allowed chats' rooms, their approvals and `/status`. A
 * token Telegram refuses or another poller ends it with an error that says what to do.
 */
export async function runTelegram(options: {
  workspaceDir: string;
  config: OrgConfig;
  sessions: TelegramSessions;
  audit: AuditSink;
  token: string;
  log: (line: string) => void;
  signal: AbortSignal;
  /** The workspace's memory (`/memory`) and MCP servers (`/mcp`), where the rooms have them. */
  memory?: MemoryStore;
  mcp?: McpHub;
  /** send_file's outlet the rooms' tools were given: each chat binds its session there. */
  fileOutlet?: TelegramFileOutlet;
}): Promise<void> {
  const { config, workspaceDir, memory, mcp } = options;
  const embedder = embedderFromEnvironment();
  const api = new BotApi({ apiBase: config.telegram.apiBase, token: options.token });
  const chats = config.telegram.allowedChats;
  await runTelegramBridge({
    api,
    settings: config.telegram,
    ...(options.fileOutlet ? { fileOutlet: options.fileOutlet } : {}),
    sessions: options.sessions,
    workspaceDir,
    audit: options.audit,
    roomCommands: {
      config,
      // Loaded on the first /status: grow's, the supervisor's, the backups' and the instances' readers.
      status: async () => (await import("./org-status-text.ts")).orgStatusText({ workspaceDir, repoDir: CHECKOUT_DIR, config }),
      ...(memory
        ? {
            recall: async (query: string, signal: AbortSignal) =>
              formatMemoryOutcome(await memory.search(query, { limit: 8, signal, ...(embedder ? { embedder } : {}) })),
          }
        : {}),
      ...(mcp ? { mcp } : {}),
    },
    log: options.log,
    signal: options.signal,
    onReady: (username) =>
      options.log(
        `telegram: @${username || "(bot)"} polls ${api.origin}; ${
          chats.length === 0
            ? "no chat is allowed " + "yet (telegram.allowedChats): message the bot, and its chat id is printed here"
            : `serving chats ${chats.join(", ")}`
        }`,
      ),
  });
}
