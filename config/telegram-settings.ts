import { z } from "zod";

/** Telegram's own Bot API server. */
export const TELEGRAM_API_BASE = "https://api.telegram.org";

/** The largest file the Bot API lets a bot download (getFile). */
export const TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

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
  /** Bytes a document, photo or voice note may hold to be taken into the room (the Bot API downloads 20 MB at most). */
  maxFileBytes: z.int().min(1_024).max(TELEGRAM_DOWNLOAD_LIMIT).default(TELEGRAM_DOWNLOAD_LIMIT),
  /**
   * An OpenAI-compatible transcription server (`POST <url>/v1/audio/transcriptions`, multipart `file` and `model`) that
   * voice notes are sent to; without it a voice note reaches the room untranscribed. A workspace's waits for `org config trust`.
   */
  transcribe: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      model: z.string().min(1).max(200).default("whisper-1"),
    })
    .optional(),
});
export type TelegramSettings = z.output<typeof TelegramSettings>;
