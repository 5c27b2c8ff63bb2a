import { z } from "zod";

// What org reads of Telegram's updates (the Bot API's Update, Message and CallbackQuery), checked: the server is on the
// far side of a trust boundary like a model server. Fields org does not read are passed over; texts are bounded.

const Chat = z.object({ id: z.number().int(), type: z.string().max(32) });

/** A message: its chat, and its text when it is text (a photo, a voice note or a sticker has none). */
const Message = z.object({
  message_id: z.number().int(),
  chat: Chat,
  text: z.string().max(65_536).optional(),
});

const CallbackQuery = z.object({
  id: z.string().max(256),
  message: z.object({ message_id: z.number().int(), chat: Chat }).optional(),
  data: z.string().max(256).optional(),
});

export const TelegramUpdate = z.object({
  update_id: z.number().int().min(0),
  message: Message.optional(),
  callback_query: CallbackQuery.optional(),
});
export type TelegramUpdate = z.infer<typeof TelegramUpdate>;

/** What org makes of one update: a chat's text or other message, a button press, or something it does not take. */
export type ReadUpdate =
  | { kind: "text"; updateId: number; chatId: string; text: string }
  | { kind: "other-message"; updateId: number; chatId: string }
  | { kind: "button"; updateId: number; chatId: string; callbackId: string; data: string }
  | { kind: "ignored"; updateId: number; chatId: string | undefined };

/** Reads one raw update; undefined when it is not one at all (no update_id: it cannot even be confirmed). */
export function readUpdate(raw: unknown): ReadUpdate | undefined {
  const parsed = TelegramUpdate.safeParse(raw);
  if (!parsed.success) {
    const id = z.object({ update_id: z.number().int().min(0) }).safeParse(raw);
    return id.success ? { kind: "ignored", updateId: id.data.update_id, chatId: undefined } : undefined;
  }
  const { update_id: updateId, message, callback_query: callback } = parsed.data;
  if (message) {
    const chatId = String(message.chat.id);
    return message.text !== undefined ? { kind: "text", updateId, chatId, text: message.text } : { kind: "other-message", updateId, chatId };
  }
  if (callback?.message) {
    const chatId = String(callback.message.chat.id);
    return { kind: "button", updateId, chatId, callbackId: callback.id, data: callback.data ?? "" };
  }
  return { kind: "ignored", updateId, chatId: undefined };
}
