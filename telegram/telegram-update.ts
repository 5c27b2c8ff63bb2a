import { z } from "zod";

// What org reads of Telegram's updates (the Bot API's Update, Message and CallbackQuery), checked: the server is on the
// far side of a trust boundary like a model server. Fields org does not read are passed over; texts are bounded.

const Chat = z.object({ id: z.number().int(), type: z.string().max(32) });

const FileId = z.string().min(1).max(256);
const Size = z.number().int().min(0).optional();
/** A sender's file name or MIME type: hostile text, bounded here and made safe where it is used. */
const Label = z.string().max(512).optional();

/** A message: its chat, its text or caption, and the file it carries (a document, a photo, a voice note, an audio file). */
const Message = z.object({
  message_id: z.number().int(),
  chat: Chat,
  text: z.string().max(65_536).optional(),
  caption: z.string().max(4_096).optional(),
  document: z.object({ file_id: FileId, file_name: Label, mime_type: Label, file_size: Size }).optional(),
  photo: z
    .array(z.object({ file_id: FileId, file_size: Size, width: z.number(), height: z.number() }))
    .max(32)
    .optional(),
  voice: z.object({ file_id: FileId, duration: z.number().min(0), mime_type: Label, file_size: Size }).optional(),
  audio: z.object({ file_id: FileId, duration: z.number().min(0), file_name: Label, mime_type: Label, file_size: Size }).optional(),
});

/** A file a message carries, as org takes it in: which kind, Telegram's id for it, and what the message says of it. */
export type IncomingFile = {
  kind: "document" | "photo" | "voice" | "audio";
  fileId: string;
  fileName?: string;
  mimeType?: string;
  size?: number;
  durationS?: number;
};

function fileOf(message: z.infer<typeof Message>): IncomingFile | undefined {
  const { document, photo, voice, audio } = message;
  if (document)
    return { kind: "document", fileId: document.file_id, fileName: document.file_name, mimeType: document.mime_type, size: document.file_size };
  // A photo comes in several sizes, the largest last.
  const largest = photo?.at(-1);
  if (largest) return { kind: "photo", fileId: largest.file_id, mimeType: "image/jpeg", size: largest.file_size };
  if (voice)
    return { kind: "voice", fileId: voice.file_id, mimeType: voice.mime_type ?? "audio/ogg", size: voice.file_size, durationS: voice.duration };
  if (audio)
    return {
      kind: "audio",
      fileId: audio.file_id,
      fileName: audio.file_name,
      mimeType: audio.mime_type,
      size: audio.file_size,
      durationS: audio.duration,
    };
  return undefined;
}

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
  | { kind: "file"; updateId: number; chatId: string; file: IncomingFile; caption: string }
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
    if (message.text !== undefined) return { kind: "text", updateId, chatId, text: message.text };
    const file = fileOf(message);
    return file ? { kind: "file", updateId, chatId, file, caption: message.caption ?? "" } : { kind: "other-message", updateId, chatId };
  }
  if (callback?.message) {
    const chatId = String(callback.message.chat.id);
    return { kind: "button", updateId, chatId, callbackId: callback.id, data: callback.data ?? "" };
  }
  return { kind: "ignored", updateId, chatId: undefined };
}
