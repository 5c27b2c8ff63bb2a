import { z } from "zod";
import { sleep } from "../concurrency/sleep.ts";
import { redact } from "../security/redact.ts";
import { OrgError } from "../errors/org-error.ts";

/** The Bot API answered with an error (`error_code`, `description`); the message says which call and what to do. */
export class TelegramApiError extends OrgError {
  override name = "TelegramApiError";
  constructor(
    readonly method: string,
    /** The Bot API's `error_code` (or the HTTP status when it answered without its JSON). */
    readonly apiCode: number,
    readonly description: string,
  ) {
    super(telegramErrorMessage(method, apiCode, description));
  }
}

/** The Bot API could not be reached (a network error or a timeout); the message never holds the token. */
export class TelegramUnreachableError extends OrgError {
  override name = "TelegramUnreachableError";
}

function telegramErrorMessage(method: string, code: number, description: string): string {
  if (code === 401) return `the Bot API refused the bot's token (401 ${description}): check TELEGRAM_BOT_TOKEN (BotFather's /token shows it).`;
  if (code === 409)
    return (
      `another program takes this bot's updates (409 ${description}): stop the other 'org telegram' (or ` +
      `delete the bot's webhook with deleteWebhook), then start again.`
    );
  return `the Bot API's ${method} failed: ${code} ${description}`;
}

/** Every answer of the Bot API: `{ ok: true, result }` or `{ ok: false, error_code, description, parameters }`. */
const Answer = z.object({
  ok: z.boolean(),
  result: z.unknown().optional(),
  error_code: z.number().optional(),
  description: z.string().optional(),
  parameters: z.object({ retry_after: z.number().optional() }).loose().optional(),
});

/** What sendMessage answers that org reads: the new message's id. */
export const SentMessage = z.object({ message_id: z.number().int() });

/** A file org could not take from a chat: too big, or the Bot API would not give it; the message says which. */
export class TelegramFileError extends OrgError {
  override name = "TelegramFileError";
}

/** What getFile answers that org reads: where the bytes are, and how many. */
const TelegramFile = z.object({
  file_path: z
    .string()
    .max(1_024)
    .regex(/^[\w./-]+$/)
    .refine((path) => !path.split("/").includes(".."))
    .optional(),
  file_size: z.number().int().min(0).optional(),
});

/** A download gives up after this long. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

function tooBig(size: number, maxBytes: number, said = ""): string {
  const held = `it holds ${said ? `${said} ` : ""}${size} bytes`;
  return `${held}, over the ${maxBytes} bytes telegram.maxFileBytes allows (Telegram lets bots download 20 MB at most)`;
}

/** A document as sendDocument takes it. */
export type TelegramDocument = { fileName: string; content: string | Uint8Array; mimeType: string };

/** Seconds a 429's retry_after is waited at most (a server that says more is waited this long, then asked again). */
const MAX_RETRY_AFTER_S = 300;
/** 429s one call waits through before it gives up. */
const MAX_RETRIES = 5;
/** A call other than a long poll gives up after this long. */
const CALL_TIMEOUT_MS = 30_000;
/** Characters of a description kept: it comes from the server. */
const MAX_DESCRIPTION = 300;

/**
 * The Bot API over HTTP (`<apiBase>/bot<token>/<method>`). The token is part of every URL, so no URL is ever put in
 * an error or a log line: errors name the method, and what the server says is redacted of the token and cut. A 429
 * waits `retry_after` (bounded) and asks again.
 */
export class BotApi {
  readonly #base: string;
  readonly #token: string;

  constructor(options: { apiBase: string; token: string }) {
    this.#base = options.apiBase.replace(/\/+$/, "");
    this.#token = options.token;
  }

  /** Where the API is, as org shows it: the base URL's origin, never the token. */
  get origin(): string {
    return new URL(this.#base).origin;
  }

  /** Text from the server or the runtime with the token taken out, cut to a length a log line takes. */
  clean(text: string): string {
    return redact(text.replaceAll(this.#token, "<token>"), [this.#token]).slice(0, MAX_DESCRIPTION);
  }

  /** Calls `method` with JSON `params`; resolves to its `result`, unchecked. `waitS` extends the timeout (a long poll's own wait). */
  call(method: string, params: Record<string, unknown>, signal: AbortSignal, waitS = 0): Promise<unknown> {
    return this.#send(method, () => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(params) }), signal, waitS);
  }

  /** sendDocument: a file to `chatId` as multipart/form-data, with an HTML caption. */
  sendDocument(chatId: string, document: TelegramDocument, caption: string, signal: AbortSignal): Promise<unknown> {
    return this.#sendFile("sendDocument", "document", chatId, document, caption, signal);
  }

  /** sendPhoto: an image (PNG or JPEG, at most 10 MB) to `chatId` as multipart/form-data, shown as a photo, with an HTML caption. */
  sendPhoto(chatId: string, photo: TelegramDocument, caption: string, signal: AbortSignal): Promise<unknown> {
    return this.#sendFile("sendPhoto", "photo", chatId, photo, caption, signal);
  }

  /** A file sent by upload: `method` with the file as the form's `field`, and the caption as HTML. */
  #sendFile(method: string, field: string, chatId: string, file: TelegramDocument, caption: string, signal: AbortSignal): Promise<unknown> {
    return this.#send(
      method,
      () => {
        const form = new FormData();
        form.set("chat_id", chatId);
        if (caption !== "") {
          form.set("caption", caption);
          form.set("parse_mode", "HTML");
        }
        form.set(field, new File([file.content], file.fileName, { type: file.mimeType }));
        return { body: form };
      },
      signal,
      0,
    );
  }

  /**
   * A file of a chat's message: getFile, then its bytes from `<apiBase>/file/bot<token>/<file_path>`, at most `maxBytes`
   * (checked against the size getFile says, and again while reading). Throws TelegramFileError saying what went wrong.
   */
  async downloadFile(fileId: string, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
    const found = TelegramFile.safeParse(await this.call("getFile", { file_id: fileId }, signal));
    if (!found.success || found.data.file_path === undefined) throw new TelegramFileError("the Bot API's getFile gave no file path for it");
    const { file_path: path, file_size: size } = found.data;
    if (size !== undefined && size > maxBytes) throw new TelegramFileError(tooBig(size, maxBytes));
    let response: Response;
    try {
      response = await fetch(`${this.#base}/file/bot${this.#token}/${path.split("/").map(encodeURIComponent).join("/")}`, {
        redirect: "error",
        signal: AbortSignal.any([signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]),
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      throw new TelegramFileError(`its download from ${this.origin} failed: ${this.clean(error instanceof Error ? error.message : String(error))}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => {});
      throw new TelegramFileError(`its download from ${this.origin} answered HTTP ${response.status}`);
    }
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of response.body) {
      length += chunk.length;
      if (length > maxBytes) {
        await response.body.cancel().catch(() => {});
        throw new TelegramFileError(tooBig(length, maxBytes, "more than"));
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async #send(
    method: string,
    request: () => { headers?: Record<string, string>; body: string | FormData },
    signal: AbortSignal,
    waitS: number,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      const answer = await this.#once(method, request(), signal, waitS);
      if (answer.ok) return answer.result;
      const code = answer.error_code ?? 0;
      const retryAfter = answer.parameters?.retry_after;
      if (code === 429 && attempt < MAX_RETRIES) {
        // Telegram says how long to wait; a hostile or broken server that says forever is waited a bounded time.
        await sleep(Math.min(Math.max(retryAfter ?? 1, 1), MAX_RETRY_AFTER_S) * 1000, signal);
        continue;
      }
      throw new TelegramApiError(method, code, this.clean(answer.description ?? "(no description)"));
    }
  }

  async #once(method: string, request: { headers?: Record<string, string>; body: string | FormData }, signal: AbortSignal, waitS: number) {
    let response: Response;
    try {
      response = await fetch(`${this.#base}/bot${this.#token}/${method}`, {
        method: "POST",
        ...request,
        redirect: "error",
        signal: AbortSignal.any([signal, AbortSignal.timeout(CALL_TIMEOUT_MS + waitS * 1000)]),
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      const why = error instanceof Error ? error.message : String(error);
      throw new TelegramUnreachableError(`could not reach the Bot API at ${this.origin} (${method}): ${this.clean(why)}`);
    }
    const text = await response.text().catch(() => "");
    let parsed: z.infer<typeof Answer> | undefined;
    try {
      parsed = Answer.parse(JSON.parse(text));
    } catch {
      // A proxy's error page or a server that is not the Bot API: never its body, which may echo the URL.
      if (response.status >= 500) throw new TelegramUnreachableError(`the Bot API at ${this.origin} answered HTTP ${response.status} (${method})`);
      throw new TelegramApiError(method, response.status, `HTTP ${response.status} without the Bot API's JSON`);
    }
    if (!parsed.ok && (parsed.error_code ?? response.status) >= 500)
      throw new TelegramUnreachableError(
        `the Bot API at ${this.origin} failed (${method}): ${this.clean(parsed.description ?? String(response.status))}`,
      );
    return parsed.ok ? parsed : { ...parsed, error_code: parsed.error_code ?? response.status };
  }
}
