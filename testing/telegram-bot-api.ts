// A local stand-in for Telegram's Bot API (https://core.telegram.org/bots/api), written to its documented shapes and
// errors, for the tests of `org telegram` and the supervisor's messages: a real HTTP server on 127.0.0.1 answering
// `/bot<token>/<method>` with `{ ok, result }` or `{ ok: false, error_code, description, parameters? }`. It keeps the
// updates of several chats until a getUpdates offset confirms them, answers a long poll as soon as one comes, gives 409
// to a poller another one replaced (or while a webhook is set), checks HTML and the 4 096-character limit as Telegram
// does, refuses an edit that changes nothing, and can be told to answer 429 with retry_after.
import { parseTelegramHtml, TelegramParseError } from "./telegram-html-parser.ts";

/** A button as a bot sends it (only callback buttons are used by org). */
export type StandInButton = { text: string; callback_data?: string; url?: string };
export type StandInKeyboard = { inline_keyboard: StandInButton[][] };

/** A message the bot sent, as it stands now, with every text it had. */
export type BotMessage = {
  chatId: string;
  messageId: number;
  /** The HTML (or plain text) as last sent, and the text after parsing it. */
  html: string;
  text: string;
  versions: string[];
  markup?: StandInKeyboard;
  document?: { fileName: string; content: string; mimeType: string; caption: string };
  /** A photo sent with sendPhoto: its bytes as uploaded, and its caption's text. */
  photo?: { bytes: Uint8Array; caption: string };
};

/** One call the stand-in answered. */
export type StandInCall = { method: string; params: Record<string, unknown>; at: number; status: number; description?: string };

type Update = { update_id: number } & Record<string, unknown>;
type Failure = { code: number; description: string; retryAfter?: number };
type Poll = { resolve: (response: Response) => void; timer: ReturnType<typeof setTimeout> };

/** Methods that write into a chat: the per-chat pace, when set, applies to these. */
const WRITES = new Set(["sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument", "sendPhoto", "deleteMessage"]);
/** What Telegram takes as a photo sent by upload: a PNG or JPEG of at most 10 MB. */
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
const PHOTO_SIGNATURES = [
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  [0xff, 0xd8, 0xff],
];
const MAX_TEXT = 4096;

/** Telegram's bound on a photo's sides: width and height at most 10000 together, neither over 20 times the other. */
function photoDimensionsFit(bytes: Uint8Array): boolean {
  // A PNG's IHDR (bytes 16-23: width, height); a JPEG is taken as it is.
  if (bytes[0] !== 0x89 || bytes.length < 24) return true;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [width, height] = [view.getUint32(16), view.getUint32(20)];
  return width + height <= 10_000 && Math.max(width, height) <= 20 * Math.max(1, Math.min(width, height));
}

const fail = (code: number, description: string, retryAfter?: number) =>
  Response.json(
    { ok: false, error_code: code, description, ...(retryAfter !== undefined ? { parameters: { retry_after: retryAfter } } : {}) },
    { status: code },
  );
const ok = (result: unknown) => Response.json({ ok: true, result });

async function paramsOf(request: Request): Promise<Record<string, unknown>> {
  const url = new URL(request.url);
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  if (request.method !== "POST") return params;
  const type = request.headers.get("content-type") ?? "";
  if (type.includes("application/json")) Object.assign(params, (await request.json()) as Record<string, unknown>);
  else if (type.includes("multipart/form-data") || type.includes("application/x-www-form-urlencoded")) {
    for (const [key, value] of (await request.formData()).entries()) params[key] = value;
  }
  for (const key of ["reply_markup", "commands", "allowed_updates"]) {
    const value = params[key];
    if (typeof value === "string") params[key] = JSON.parse(value);
  }
  return params;
}

/** The Bot API stand-in: start it, point `telegram.apiBase` at `url`, push updates, and read what the bot sent. */
export class TelegramStandIn {
  readonly calls: StandInCall[] = [];
  readonly commands: { command: string; description: string }[] = [];
  readonly answered = new Map<string, { text: string; showAlert: boolean }>();
  /** Set: getUpdates answers 409, as Telegram does while a webhook is set. */
  webhook = false;
  #server: ReturnType<typeof Bun.serve>;
  #updates: Update[] = [];
  #nextUpdate = 100_000;
  #nextMessage = 1;
  #poll: Poll | undefined;
  #failures = new Map<string, Failure[]>();
  #messages: BotMessage[] = [];
  #chats = new Map<string, string>();
  #callbacks = new Set<string>();
  #lastWrite = new Map<string, number>();
  #writes = new Map<string, number[]>();
  #waiters = new Set<() => void>();
  /** The files the users' messages carry, by file_id: their bytes, and the path getFile gives. */
  #files = new Map<string, { bytes: Uint8Array; path: string }>();
  #nextFile = 1;

  private constructor(
    readonly token: string,
    readonly options: { minGapMs?: number },
  ) {
    this.#server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 120, fetch: (request) => this.#answer(request) });
  }

  /** Starts a stand-in that knows the bot `token`; `minGapMs`: writes to one chat closer together than this get 429. */
  static start(token: string, options: { minGapMs?: number } = {}): TelegramStandIn {
    return new TelegramStandIn(token, options);
  }

  /** What `telegram.apiBase` is set to. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.port}`;
  }

  /** The lowest update id not yet confirmed by a getUpdates offset (or the next one). */
  get pendingUpdates(): number[] {
    return this.#updates.map((update) => update.update_id);
  }

  async stop(): Promise<void> {
    if (this.#poll) {
      clearTimeout(this.#poll.timer);
      this.#poll.resolve(ok([]));
    }
    await this.#server.stop(true);
  }

  /** A chat the bot knows, as if its user had opened it. */
  openChat(chatId: string | number, type: "private" | "group" = "private"): void {
    this.#chats.set(String(chatId), type);
  }

  /** A user's text message in `chatId` (a `/command` gets its bot_command entity). Returns the update id. */
  pushText(chatId: string | number, text: string, from = Number(chatId)): number {
    const command = /^\/[A-Za-z0-9_]+(@\w+)?/.exec(text);
    return this.#pushMessage(
      chatId,
      { text, ...(command ? { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] } : {}) },
      from,
    );
  }

  /** A message that is not text: a photo, a voice note, a sticker or a document. */
  pushMedia(chatId: string | number, kind: "photo" | "voice" | "sticker" | "document", caption?: string): number {
    const media = {
      photo: { photo: [{ file_id: "p1", file_unique_id: "u1", width: 90, height: 90 }] },
      voice: { voice: { file_id: "v1", file_unique_id: "u2", duration: 3 } },
      sticker: { sticker: { file_id: "s1", file_unique_id: "u3", type: "regular", width: 512, height: 512, is_animated: false, is_video: false } },
      document: { document: { file_id: "d1", file_unique_id: "u4", file_name: "notes.pdf" } },
    }[kind];
    return this.#pushMessage(chatId, { ...media, ...(caption !== undefined ? { caption } : {}) }, Number(chatId));
  }

  /**
   * A user's message carrying a file whose bytes the stand-in keeps (getFile gives its path, `/file/bot<token>/<path>`
   * its bytes): a document (with its name and type), a photo (two sizes, the larger last), a voice note or an audio file.
   * `declaredSize` is what the message says of its size (Telegram's `file_size`; the real size unless given).
   */
  pushFile(
    chatId: string | number,
    kind: "document" | "photo" | "voice" | "audio",
    bytes: Uint8Array,
    options: { fileName?: string; mimeType?: string; caption?: string; declaredSize?: number } = {},
  ): number {
    const id = `f${this.#nextFile++}`;
    const folder = { document: "documents", photo: "photos", voice: "voice", audio: "music" }[kind];
    this.#files.set(id, { bytes, path: `${folder}/file_${this.#nextFile}.${kind === "voice" ? "oga" : "bin"}` });
    const size = options.declaredSize ?? bytes.length;
    const media = {
      document: { document: { file_id: id, file_unique_id: `u${id}`, file_name: options.fileName, mime_type: options.mimeType, file_size: size } },
      photo: {
        photo: [
          { file_id: `${id}-small`, file_unique_id: `u${id}s`, width: 90, height: 90, file_size: 10 },
          { file_id: id, file_unique_id: `u${id}`, width: 800, height: 600, file_size: size },
        ],
      },
      voice: { voice: { file_id: id, file_unique_id: `u${id}`, duration: 3, mime_type: options.mimeType ?? "audio/ogg", file_size: size } },
      audio: {
        audio: { file_id: id, file_unique_id: `u${id}`, duration: 3, file_name: options.fileName, mime_type: options.mimeType, file_size: size },
      },
    }[kind];
    return this.#pushMessage(chatId, { ...media, ...(options.caption !== undefined ? { caption: options.caption } : {}) }, Number(chatId));
  }

  /** A button press on the bot's message `messageId` in `chatId`, by a user of `fromChat` (another chat, to forge). */
  pushCallback(chatId: string | number, messageId: number, data: string, fromChat: string | number = chatId): string {
    const id = `cb${this.#nextUpdate}`;
    this.#callbacks.add(id);
    this.#push({
      callback_query: {
        id,
        from: { id: Number(fromChat), is_bot: false, first_name: "User" },
        message: { message_id: messageId, date: this.#now(), chat: { id: Number(chatId), type: this.#chats.get(String(chatId)) ?? "private" } },
        chat_instance: `ci${chatId}`,
        data,
      },
    });
    return id;
  }

  /** The next `times` calls of `method` fail with `failure` (429 with retry_after, 502, …). */
  failNext(method: string, failure: Failure, times = 1): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), ...Array(times).fill(failure)]);
  }

  /** The bot's messages in `chatId`, in the order they were sent (documents included). */
  messages(chatId: string | number): BotMessage[] {
    return this.#messages.filter((message) => message.chatId === String(chatId));
  }

  /** When each write into `chatId` was answered (ms since the epoch). */
  writes(chatId: string | number): number[] {
    return this.#writes.get(String(chatId)) ?? [];
  }

  /** Waits until `test` holds (checked after every call), at most `timeoutMs`; rejects naming `what`. */
  waitFor(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`the Bot API stand-in waited ${timeoutMs} ms for ${what}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  #now(): number {
    return Math.floor(Date.now() / 1000);
  }

  #pushMessage(chatId: string | number, content: Record<string, unknown>, from: number): number {
    const type = this.#chats.get(String(chatId)) ?? "private";
    this.#chats.set(String(chatId), type);
    return this.#push({
      message: {
        message_id: this.#nextMessage++,
        from: { id: from, is_bot: false, first_name: "User" },
        chat: { id: Number(chatId), type, ...(type === "private" ? { first_name: "User" } : { title: "A group" }) },
        date: this.#now(),
        ...content,
      },
    });
  }

  #push(content: Record<string, unknown>): number {
    const update_id = this.#nextUpdate++;
    this.#updates.push({ update_id, ...content });
    const poll = this.#poll;
    if (poll) {
      this.#poll = undefined;
      clearTimeout(poll.timer);
      poll.resolve(ok(this.#updates.slice(0, 100)));
    }
    return update_id;
  }

  async #answer(request: Request): Promise<Response> {
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(new URL(request.url).pathname);
    if (download) return this.#download(download[1] ?? "", decodeURIComponent(download[2] ?? ""));
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(request.url).pathname);
    const params = await paramsOf(request).catch(() => undefined);
    let response: Response;
    if (!match || params === undefined) response = fail(404, "Not Found");
    else if (match[1] !== this.token) response = fail(401, "Unauthorized");
    else response = await this.#method(match[2] ?? "", params, request.signal);
    const body = (await response.clone().json()) as { description?: string };
    this.calls.push({
      method: match?.[2] ?? "?",
      params: params ?? {},
      at: Date.now(),
      status: response.status,
      ...(body.description ? { description: body.description } : {}),
    });
    for (const waiter of [...this.#waiters]) waiter();
    return response;
  }

  async #method(method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
    const failure = this.#failures.get(method)?.shift();
    if (failure) return fail(failure.code, failure.description, failure.retryAfter);
    const chatId = params.chat_id === undefined ? undefined : String(params.chat_id);
    if (WRITES.has(method) && chatId !== undefined) {
      const paced = this.#pace(chatId);
      if (paced) return paced;
    }
    switch (method) {
      case "getMe":
        return ok({ id: 42, is_bot: true, first_name: "org", username: "org_test_bot" });
      case "getUpdates":
        return this.#getUpdates(params, signal);
      case "setWebhook":
        this.webhook = true;
        return ok(true);
      case "deleteWebhook":
        this.webhook = false;
        return ok(true);
      case "setMyCommands":
        return this.#setMyCommands(params);
      case "sendMessage":
        return this.#sendMessage(params);
      case "editMessageText":
        return this.#editMessageText(params);
      case "editMessageReplyMarkup":
        return this.#editReplyMarkup(params);
      case "sendDocument":
        return this.#sendDocument(params);
      case "sendPhoto":
        return this.#sendPhoto(params);
      case "answerCallbackQuery":
        return this.#answerCallback(params);
      case "getFile":
        return this.#getFile(params);
      default:
        return fail(404, "Not Found");
    }
  }

  #pace(chatId: string): Response | undefined {
    const now = Date.now();
    const last = this.#lastWrite.get(chatId);
    const gap = this.options.minGapMs;
    if (gap !== undefined && last !== undefined && now - last < gap) return fail(429, "Too Many Requests: retry after 1", 1);
    this.#lastWrite.set(chatId, now);
    this.#writes.set(chatId, [...this.writes(chatId), now]);
    return undefined;
  }

  #getUpdates(params: Record<string, unknown>, signal: AbortSignal): Response | Promise<Response> {
    if (this.webhook)
      return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    const offset = Number(params.offset ?? 0);
    if (offset > 0) this.#updates = this.#updates.filter((update) => update.update_id >= offset);
    const waiting = this.#poll;
    if (waiting) {
      // A new poller replaces the one waiting, which learns it was terminated (Telegram's 409).
      this.#poll = undefined;
      clearTimeout(waiting.timer);
      waiting.resolve(fail(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"));
    }
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const timeout = Math.min(50, Math.max(0, Number(params.timeout ?? 0)));
    if (this.#updates.length > 0 || timeout === 0) return ok(this.#updates.slice(0, limit));
    return new Promise<Response>((resolve) => {
      const poll: Poll = { resolve, timer: setTimeout(() => done(ok([])), timeout * 1000) };
      const done = (response: Response) => {
        if (this.#poll === poll) this.#poll = undefined;
        clearTimeout(poll.timer);
        resolve(response);
      };
      poll.resolve = done;
      this.#poll = poll;
      signal.addEventListener("abort", () => done(ok([])), { once: true });
    });
  }

  #setMyCommands(params: Record<string, unknown>): Response {
    const commands = params.commands;
    if (!Array.isArray(commands) || commands.length > 100) return fail(400, "Bad Request: commands must be an array of at most 100 BotCommand");
    for (const entry of commands as { command?: unknown; description?: unknown }[]) {
      if (typeof entry.command !== "string" || !/^[a-z0-9_]{1,32}$/.test(entry.command)) return fail(400, "Bad Request: BOT_COMMAND_INVALID");
      if (typeof entry.description !== "string" || entry.description.length < 1 || entry.description.length > 256)
        return fail(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
    }
    this.commands.splice(0, this.commands.length, ...(commands as { command: string; description: string }[]));
    return ok(true);
  }

  /** The text as Telegram would show it, or the 400 it answers. */
  #parse(params: Record<string, unknown>, key: "text" | "caption", max: number): { html: string; text: string } | Response {
    const html = params[key];
    if (typeof html !== "string" || html.length === 0)
      return key === "text" ? fail(400, "Bad Request: message text is empty") : { html: "", text: "" };
    let text = html;
    if (params.parse_mode === "HTML") {
      try {
        text = parseTelegramHtml(html).text;
      } catch (error) {
        if (error instanceof TelegramParseError) return fail(400, `Bad Request: ${error.message}`);
        throw error;
      }
    }
    if (text.trim().length === 0) return fail(400, key === "text" ? "Bad Request: message text is empty" : "Bad Request: caption is empty");
    if (text.length > max) return fail(400, key === "text" ? "Bad Request: message is too long" : "Bad Request: message caption is too long");
    return { html, text };
  }

  #markup(params: Record<string, unknown>): StandInKeyboard | undefined | Response {
    const markup = params.reply_markup as StandInKeyboard | undefined;
    if (markup === undefined) return undefined;
    for (const row of markup.inline_keyboard ?? []) {
      for (const button of row) {
        const data = button.callback_data;
        if (data !== undefined && (Buffer.byteLength(data) < 1 || Buffer.byteLength(data) > 64)) return fail(400, "Bad Request: BUTTON_DATA_INVALID");
      }
    }
    return markup;
  }

  #message(message: BotMessage): Record<string, unknown> {
    return {
      message_id: message.messageId,
      from: { id: 42, is_bot: true, first_name: "org", username: "org_test_bot" },
      chat: { id: Number(message.chatId), type: this.#chats.get(message.chatId) ?? "private" },
      date: this.#now(),
      ...(message.document
        ? { document: { file_name: message.document.fileName, mime_type: message.document.mimeType } }
        : message.photo
          ? {
              photo: [
                {
                  file_id: `p${message.messageId}`,
                  file_unique_id: `up${message.messageId}`,
                  width: 1,
                  height: 1,
                  file_size: message.photo.bytes.length,
                },
              ],
            }
          : { text: message.text }),
      ...(message.markup ? { reply_markup: message.markup } : {}),
    };
  }

  #sendMessage(params: Record<string, unknown>): Response {
    const chatId = String(params.chat_id);
    if (!this.#chats.has(chatId)) return fail(400, "Bad Request: chat not found");
    const parsed = this.#parse(params, "text", MAX_TEXT);
    if (parsed instanceof Response) return parsed;
    const markup = this.#markup(params);
    if (markup instanceof Response) return markup;
    const message: BotMessage = { chatId, messageId: this.#nextMessage++, ...parsed, versions: [parsed.text], ...(markup ? { markup } : {}) };
    this.#messages.push(message);
    return ok(this.#message(message));
  }

  #find(params: Record<string, unknown>): BotMessage | Response {
    const chatId = String(params.chat_id);
    const found = this.#messages.find((message) => message.chatId === chatId && message.messageId === Number(params.message_id));
    return found ?? fail(400, "Bad Request: message to edit not found");
  }

  #editMessageText(params: Record<string, unknown>): Response {
    const found = this.#find(params);
    if (found instanceof Response) return found;
    const parsed = this.#parse(params, "text", MAX_TEXT);
    if (parsed instanceof Response) return parsed;
    const markup = this.#markup(params);
    if (markup instanceof Response) return markup;
    if (parsed.html === found.html && JSON.stringify(markup) === JSON.stringify(found.markup))
      return fail(
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the " +
          "same as a current content and reply markup of the message",
      );
    found.html = parsed.html;
    found.text = parsed.text;
    found.versions.push(parsed.text);
    if (markup) found.markup = markup;
    else delete found.markup;
    return ok(this.#message(found));
  }

  #editReplyMarkup(params: Record<string, unknown>): Response {
    const found = this.#find(params);
    if (found instanceof Response) return found;
    const markup = this.#markup(params);
    if (markup instanceof Response) return markup;
    if (JSON.stringify(markup ?? null) === JSON.stringify(found.markup ?? null)) return fail(400, "Bad Request: message is not modified");
    if (markup) found.markup = markup;
    else delete found.markup;
    return ok(this.#message(found));
  }

  async #sendDocumentContent(params: Record<string, unknown>): Promise<{ fileName: string; content: string; mimeType: string } | Response> {
    const file = params.document;
    if (!(file instanceof Blob)) return fail(400, "Bad Request: there is no document in the request");
    if (file.size > 50 * 1024 * 1024) return fail(413, "Request Entity Too Large");
    const fileName = file instanceof File ? file.name : "document";
    return { fileName, content: await file.text(), mimeType: file.type || "application/octet-stream" };
  }

  async #sendDocument(params: Record<string, unknown>): Promise<Response> {
    const chatId = String(params.chat_id);
    if (!this.#chats.has(chatId)) return fail(400, "Bad Request: chat not found");
    const document = await this.#sendDocumentContent(params);
    if (document instanceof Response) return document;
    const caption = this.#parse(params, "caption", 1024);
    if (caption instanceof Response) return caption;
    const message: BotMessage = {
      chatId,
      messageId: this.#nextMessage++,
      html: caption.html,
      text: caption.text,
      versions: [caption.text],
      document: { ...document, caption: caption.text },
    };
    this.#messages.push(message);
    return ok(this.#message(message));
  }

  /** sendPhoto by upload (multipart `photo`): an image Telegram can read, or the error it gives. */
  async #sendPhoto(params: Record<string, unknown>): Promise<Response> {
    const chatId = String(params.chat_id);
    if (!this.#chats.has(chatId)) return fail(400, "Bad Request: chat not found");
    const file = params.photo;
    if (!(file instanceof Blob)) return fail(400, "Bad Request: there is no photo in the request");
    if (file.size > PHOTO_MAX_BYTES) return fail(400, "Bad Request: PHOTO_INVALID_DIMENSIONS");
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (!PHOTO_SIGNATURES.some((signature) => signature.every((byte, index) => bytes[index] === byte)))
      return fail(400, "Bad Request: IMAGE_PROCESS_FAILED");
    if (!photoDimensionsFit(bytes)) return fail(400, "Bad Request: PHOTO_INVALID_DIMENSIONS");
    const caption = this.#parse(params, "caption", 1024);
    if (caption instanceof Response) return caption;
    const message: BotMessage = {
      chatId,
      messageId: this.#nextMessage++,
      html: caption.html,
      text: caption.text,
      versions: [caption.text],
      photo: { bytes, caption: caption.text },
    };
    this.#messages.push(message);
    return ok(this.#message(message));
  }

  #getFile(params: Record<string, unknown>): Response {
    const id = String(params.file_id);
    const file = this.#files.get(id);
    if (!file) return fail(400, "Bad Request: invalid file_id");
    // As Telegram does: a file over the bots' 20 MB download limit gets no path.
    if (file.bytes.length > 20 * 1024 * 1024) return fail(400, "Bad Request: file is too big");
    return ok({ file_id: id, file_unique_id: `u${id}`, file_size: file.bytes.length, file_path: file.path });
  }

  #download(token: string, path: string): Response {
    this.calls.push({ method: "(download)", params: { path }, at: Date.now(), status: token === this.token ? 200 : 401 });
    for (const waiter of [...this.#waiters]) waiter();
    if (token !== this.token) return new Response("Unauthorized", { status: 401 });
    const file = [...this.#files.values()].find((entry) => entry.path === path);
    return file ? new Response(file.bytes) : new Response("Not Found", { status: 404 });
  }

  #answerCallback(params: Record<string, unknown>): Response {
    const id = String(params.callback_query_id);
    if (!this.#callbacks.delete(id)) return fail(400, "Bad Request: query is too old and response timeout expired or query ID is invalid");
    this.answered.set(id, {
      text: typeof params.text === "string" ? params.text : "",
      showAlert: params.show_alert === true || params.show_alert === "true",
    });
    return ok(true);
  }
}
