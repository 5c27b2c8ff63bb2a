import { telegramBotToken } from "../config/environment.ts";
import { BotApi } from "../telegram/bot-api.ts";
import type { SuperviseContext } from "./supervise-check.ts";
import type { NoticeKind } from "./webhook.ts";

/** Where one of the supervisor's messages goes, its records in the notices table kept under `prefix`: `post` says why not, or nothing. */
export type NoticeChannel = { prefix: string; post(key: { incident: string; kind: NoticeKind }, text: string): Promise<string | undefined> };

/** The prefix of every notices key of a Telegram chat (the webhook's keys have none). */
export const TELEGRAM_NOTICE_PREFIX = "telegram:";
const SEND_TIMEOUT_MS = 10_000;

/** The bot's token for the supervisor, read only when `supervise.telegram` is on. */
export function telegramTokenOf(context: Pick<SuperviseContext, "config">): { telegramToken?: string } {
  const token = context.config.supervise.telegram ? telegramBotToken() : undefined;
  return token === undefined ? {} : { telegramToken: token };
}

/**
 * With `supervise.telegram` on, each chat of `telegram.allowedChats` is a channel of its own (its own records, so a chat
 * that did not take a message is tried again without the others getting it twice), sent plain text through the bot
 * TELEGRAM_BOT_TOKEN names. Without the token or a chat, one channel that says so, so the incident's messages wait.
 */
export function telegramChannels(context: SuperviseContext): NoticeChannel[] {
  const { config } = context;
  if (!config.supervise.telegram) return [];
  const chats = config.telegram.allowedChats;
  const token = context.telegramToken;
  if (token === undefined || chats.length === 0) {
    const why =
      token === undefined
        ? "not sent to Telegram: supervise.telegram is on and TELEGRAM_BOT_TOKEN is not set"
        : "not sent to Telegram: supervise.telegram is on and telegram.allowedChats lists no chat";
    return [{ prefix: `${TELEGRAM_NOTICE_PREFIX}none|`, post: async () => why }];
  }
  const api = new BotApi({ apiBase: config.telegram.apiBase, token });
  return chats.map((chatId) => ({
    prefix: `${TELEGRAM_NOTICE_PREFIX}${chatId}|`,
    async post(_key, text) {
      try {
        await api.call("sendMessage", { chat_id: chatId, text }, AbortSignal.any([context.signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]));
        return undefined;
      } catch (error) {
        return `Telegram chat ${chatId} did not take it: ${error instanceof Error ? api.clean(error.message) : String(error)}`;
      }
    },
  }));
}
