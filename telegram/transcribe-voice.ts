import { z } from "zod";
import type { TelegramSettings } from "../config/telegram-settings.ts";
import { OrgError } from "../errors/org-error.ts";

/** The transcription server could not transcribe a voice note; the message says why (never a URL's credentials). */
export class TranscriptionError extends OrgError {
  override name = "TranscriptionError";
}

/** What an OpenAI-compatible transcription server answers that org reads (`response_format: json`). */
const Transcript = z.object({ text: z.string().max(100_000) });

/** A transcription gives up after this long. */
const TRANSCRIBE_TIMEOUT_MS = 120_000;

/**
 * A voice note's words from the server `telegram.transcribe` names: `POST <url>/v1/audio/transcriptions`, multipart
 * `file` and `model`, as OpenAI's API and whisper.cpp's and faster-whisper's servers take it. Throws TranscriptionError.
 */
export async function transcribeVoice(
  settings: NonNullable<TelegramSettings["transcribe"]>,
  audio: { bytes: Uint8Array; fileName: string; mimeType: string },
  signal: AbortSignal,
): Promise<string> {
  const base = new URL(settings.url);
  const where = base.origin;
  const endpoint = new URL(`${base.pathname.replace(/\/+$/, "").replace(/\/v1$/, "")}/v1/audio/transcriptions`, base.origin);
  const form = new FormData();
  form.set("file", new File([audio.bytes], audio.fileName, { type: audio.mimeType }));
  form.set("model", settings.model);
  form.set("response_format", "json");
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      body: form,
      redirect: "error",
      signal: AbortSignal.any([signal, AbortSignal.timeout(TRANSCRIBE_TIMEOUT_MS)]),
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    throw new TranscriptionError(`the transcription server at ${where} could not be reached (${error instanceof Error ? error.name : "error"})`);
  }
  const body = await response.text().catch(() => "");
  if (!response.ok) throw new TranscriptionError(`the transcription server at ${where} answered HTTP ${response.status}`);
  let parsed: z.infer<typeof Transcript>;
  try {
    parsed = Transcript.parse(JSON.parse(body));
  } catch {
    throw new TranscriptionError(`the transcription server at ${where} answered without a JSON "text"`);
  }
  return parsed.text.trim();
}
