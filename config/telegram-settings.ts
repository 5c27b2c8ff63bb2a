import { z } from "zod";

/** Telegram's own Bot API server. */
export const TELEGRAM_API_BASE = "https://api.telegram.org";

/** A chat's id as Telegram gives it (negative for groups), as a number or a string of digits; kept as a string. */
export const TelegramChatId = z
  .union([
    z
      .int()
      .min(-(2 ** 53) + 1)
      .max(2 ** 53 - 1),
    z.string().regex(/^-?\d{1,19}$/, "a chat id: digits, '-' first for a group"),
  ])
  .transform((id) => String(id));

/** `org telegram`'s settings (`telegram` in org.config.json); the bot's token comes from TELEGRAM_BOT_TOKEN only. */
export const TelegramSettings = z.strictObject({
  /** The Bot API's base URL: Telegram's own, or a local Bot API server. */
  apiBase: z.url({ protocol: /^https?$/ }).default(TELEGRAM_API_BASE),
  /** The chats the bot serves; an update from any other chat is dropped unanswered (one audit line per chat). */
  allowedChats: z.array(TelegramChatId).max(1_000).default([]),
  /** Seconds one getUpdates waits for an update (long polling). */
  pollTimeoutS: z.int().min(0).max(50).default(25),
});
export type TelegramSettings = z.output<typeof TelegramSettings>;
