import type { TelegramSettings } from "../config/telegram-settings.ts";
import { ScratchDirectoryError } from "../sandbox/open-scratch.ts";
import { ScratchPathError, sandboxPathOf, scratchPathParts, writeScratchFile } from "../sandbox/write-scratch-file.ts";
import { describeType, scannedText, sniffType } from "../tools/sniff-type.ts";
import { type BotApi, TelegramFileError } from "./bot-api.ts";
import type { IncomingFile } from "./telegram-update.ts";
import { TranscriptionError, transcribeVoice } from "./transcribe-voice.ts";

/** What became of a file from a chat: the message the room gets, or why it was refused (`kinds`: secrets found). */
export type ReceivedFile = { ok: true; message: string; path: string } | { ok: false; why: string; kinds?: string[] };

export type ReceiveOptions = {
  api: BotApi;
  settings: Pick<TelegramSettings, "maxFileBytes" | "transcribe">;
  /** The session's scratch directory (the sandbox's /scratch). */
  scratchDir: string;
  /** The room's inbound credential guard: the kinds of secret `text` holds (none: an empty list). */
  scan: (text: string) => Promise<readonly string[]> | readonly string[];
  signal: AbortSignal;
};

const EXTENSIONS: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "audio/ogg": "ogg",
  "audio/mpeg": "mp3",
  "application/pdf": "pdf",
  "text/plain": "txt",
};

/** A name for the file in scratch: the update's id, then the sender's name made plain (or the kind and an extension). */
export function scratchNameOf(updateId: number, file: IncomingFile, sniffed: string): string {
  const plain = (file.fileName ?? "")
    .normalize("NFKC")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "")
    .slice(-100);
  const extension = EXTENSIONS[sniffed] ?? EXTENSIONS[file.mimeType ?? ""] ?? "bin";
  return `telegram/${updateId}-${plain === "" ? `${file.kind}.${extension}` : plain}`;
}

/**
 * A document, photo, voice note or audio file from an allowed chat: downloaded (at most `telegram.maxFileBytes`),
 * scanned by the room's credential guard (a file holding a secret is refused, nothing saved), saved into the session's
 * scratch, and said as a message that names its path as the sandbox sees it, its type and size; a voice note is
 * transcribed when `telegram.transcribe` names a server, else said untranscribed; the caption is the text.
 */
export async function receiveFile(update: { updateId: number; file: IncomingFile; caption: string }, options: ReceiveOptions): Promise<ReceivedFile> {
  const { file } = update;
  const captionKinds = [...(await options.scan(update.caption))];
  if (captionKinds.length > 0) return { ok: false, why: `its caption holds what looks like ${captionKinds.join(" and ")}`, kinds: captionKinds };
  const max = options.settings.maxFileBytes;
  if (file.size !== undefined && file.size > max) {
    return { ok: false, why: `the ${file.kind} holds ${file.size} bytes, over the ${max} bytes telegram.maxFileBytes allows` };
  }
  let bytes: Uint8Array;
  try {
    bytes = await options.api.downloadFile(file.fileId, max, options.signal);
  } catch (error) {
    if (error instanceof TelegramFileError) return { ok: false, why: `the ${file.kind} could not be taken: ${error.message}` };
    throw error;
  }
  const sniffed = sniffType(bytes);
  const kinds = [...(await options.scan(scannedText(bytes, sniffed.type === "text/plain")))];
  if (kinds.length > 0) return { ok: false, why: `the ${file.kind} holds what looks like ${kinds.join(" and ")}`, kinds };
  const name = scratchNameOf(update.updateId, file, sniffed.type);
  const path = sandboxPathOf(scratchPathParts(name));
  // A transcript is text from another server: the same guard as a typed message, before anything is saved.
  const transcript = file.kind === "voice" ? await voiceText(bytes, path, file, options) : undefined;
  const found = transcript === undefined ? [] : [...(await options.scan(transcript))];
  if (found.length > 0) return { ok: false, why: `its transcript holds what looks like ${found.join(" and ")}`, kinds: found };
  try {
    // The same update taken again after a restart writes the same file again.
    writeScratchFile(options.scratchDir, name, bytes, { overwrite: true });
  } catch (error) {
    if (error instanceof ScratchPathError || error instanceof ScratchDirectoryError)
      return { ok: false, why: `it could not be saved: ${error.message}` };
    throw error;
  }
  const type = describeType(file.mimeType ?? "", bytes);
  const duration = file.durationS === undefined ? "" : `, ${Math.round(file.durationS)} s`;
  const what = file.kind === "voice" ? "a voice note" : file.kind === "photo" ? "a photo" : file.kind === "audio" ? "an audio file" : "a document";
  const lines = [
    `[The person sent ${what} on Telegram, saved at ${path} (${bytes.length} bytes, ${type}${duration}); commands in the sandbox read it there.]`,
  ];
  if (transcript !== undefined) lines.push(transcript);
  if (update.caption.trim() !== "") lines.push(update.caption);
  return { ok: true, message: lines.join("\n"), path };
}

async function voiceText(bytes: Uint8Array, path: string, file: IncomingFile, options: ReceiveOptions): Promise<string> {
  const transcribe = options.settings.transcribe;
  if (!transcribe) return "[Not transcribed: telegram.transcribe names no transcription server.]";
  try {
    const name = path.split("/").at(-1) ?? "voice.ogg";
    const text = await transcribeVoice(transcribe, { bytes, fileName: name, mimeType: file.mimeType ?? "audio/ogg" }, options.signal);
    return text === "" ? "[Transcribed: no words were heard.]" : `[Transcript of the voice note:]\n${text}`;
  } catch (error) {
    if (error instanceof TranscriptionError) return `[Not transcribed: ${error.message}.]`;
    throw error;
  }
}
