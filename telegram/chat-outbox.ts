import { sleep } from "../concurrency/sleep.ts";
import { type BotApi, SentMessage, TelegramApiError, type TelegramDocument, TelegramUnreachableError } from "./bot-api.ts";

/** Buttons under a message: each answers with its `callback_data`. */
export type InlineKeyboard = { inline_keyboard: { text: string; callback_data: string }[][] };

/** What a card shows now: its HTML parts (one Telegram message each) and the buttons under its last part. */
export type Rendered = { parts: string[]; keyboard?: InlineKeyboard };

/** A message org keeps up to date in a chat: tell it when it changed, and when it will not change again. */
export type CardHandle = { changed(): void; close(): void };

type SentPart = { messageId: number | undefined; html: string; keyboard: string };
type Card = { kind: "card"; render: () => Rendered; sent: SentPart[]; closed: boolean; failures: number };
/** A file, sent as a document, or as a photo (`photo`: an image Telegram shows inline). */
type Document = { kind: "document"; document: TelegramDocument; caption: string; sent: boolean; failures: number; photo?: true };
type Item = Card | Document;

/** The most bytes of photos one chat keeps waiting to be sent: each screenshot may weigh 8 MB, and memory is not a queue. */
export const PENDING_PHOTO_BYTES = 32 * 1024 * 1024;

/** Network failures one change survives before it is given up (each waited out, 1 s doubling to 30 s). */
const MAX_FAILURES = 6;

/** Text a refused HTML part is sent as instead: its tags gone, its entities read back. */
function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}

/**
 * One chat's messages as Telegram sees them, written at most once every `gapMs` (Telegram allows about one message
 * a second per chat): a card is sent once, then edited to what it shows now, however often it changed meanwhile; a
 * card not yet sent waits for every earlier one, so messages come in order; cards with changes take turns. An edit
 * that changes nothing (400 "message is not modified") counts as done; HTML Telegram refuses is sent as plain text.
 */
export class ChatOutbox {
  readonly #items: Item[] = [];
  #turn = 0;
  #lastCall = 0;
  #pumping: Promise<void> | undefined;
  #gone = false;

  constructor(
    readonly api: BotApi,
    readonly chatId: string,
    readonly options: { gapMs: number; signal: AbortSignal; log: (line: string) => void },
  ) {}

  /** A card shown as `render` says, sent once and edited as it changes. */
  card(render: () => Rendered): CardHandle {
    const card: Card = { kind: "card", render, sent: [], closed: false, failures: 0 };
    this.#items.push(card);
    this.#wake();
    return {
      changed: () => this.#wake(),
      close: () => {
        card.closed = true;
        this.#wake();
      },
    };
  }

  /** A message that does not change. */
  say(html: string, keyboard?: InlineKeyboard): void {
    this.card(() => ({ parts: [html], ...(keyboard ? { keyboard } : {}) })).close();
  }

  /** A file, in its place among the messages. */
  document(document: TelegramDocument, caption: string): void {
    this.#items.push({ kind: "document", document, caption, sent: false, failures: 0 });
    this.#wake();
  }

  /**
   * An image shown as a photo (sendPhoto), in its place among the messages; false, and nothing queued, when photos
   * waiting to be sent would hold more than PENDING_PHOTO_BYTES (Telegram away or slower than the agent's screenshots).
   */
  photo(image: TelegramDocument, caption: string): boolean {
    const size = (document: TelegramDocument) => (typeof document.content === "string" ? document.content.length : document.content.byteLength);
    const pending = this.#items.reduce((sum, item) => sum + (item.kind === "document" && item.photo && !item.sent ? size(item.document) : 0), 0);
    if (pending + size(image) > PENDING_PHOTO_BYTES) return false;
    this.#items.push({ kind: "document", document: image, caption, sent: false, failures: 0, photo: true });
    this.#wake();
    return true;
  }

  /** Resolves once everything asked for so far was sent (or given up). */
  async idle(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  #wake(): void {
    if (this.#pumping || this.#gone || this.options.signal.aborted) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = undefined;
      if (this.#next() !== undefined) this.#wake();
    });
  }

  async #pump(): Promise<void> {
    for (let next = this.#next(); next !== undefined && !this.options.signal.aborted; next = this.#next()) {
      const wait = this.#lastCall + this.options.gapMs - Date.now();
      if (wait > 0) await sleep(wait, this.options.signal).catch(() => {});
      if (this.options.signal.aborted) return;
      // Rendered again after the wait: whatever changed meanwhile goes in this one call.
      const step = this.#next();
      if (step === undefined) return;
      try {
        await this.#perform(step.item, step.part);
        step.item.failures = 0;
      } catch (error) {
        this.#failed(step.item, step.part, error);
        if (this.#gone) return;
        if (error instanceof TelegramUnreachableError)
          await sleep(Math.min(1000 * 2 ** (step.item.failures - 1), 30_000), this.options.signal).catch(() => {});
      } finally {
        this.#lastCall = Date.now();
      }
      this.#forgetDone();
    }
  }

  /**
   * The next change to send: items take turns; one never sent waits for every item before it that has something to
   * send (a card with nothing to show yet holds up none: a question behind an empty reply must still be asked).
   */
  #next(): { item: Item; part: number } | undefined {
    const ready: { index: number; item: Item; part: number }[] = [];
    for (const [index, item] of this.#items.entries()) {
      const part = this.#changedPart(item);
      if (part !== undefined) ready.push({ index, item, part });
      if (part !== undefined && (item.kind === "document" ? !item.sent : item.sent.length === 0)) break;
    }
    if (ready.length === 0) return undefined;
    const chosen = ready.find((entry) => entry.index >= this.#turn) ?? ready[0];
    if (!chosen) return undefined;
    this.#turn = chosen.index + 1;
    return { item: chosen.item, part: chosen.part };
  }

  /** The first part of `item` whose text or buttons differ from what was sent; undefined when all are sent. */
  #changedPart(item: Item): number | undefined {
    if (item.kind === "document") return item.sent ? undefined : 0;
    const { parts, keyboard } = item.render();
    for (const [index, html] of parts.entries()) {
      const sent = item.sent[index];
      const buttons = index === parts.length - 1 && keyboard ? JSON.stringify(keyboard) : "";
      if (!sent || sent.html !== html || sent.keyboard !== buttons) return index;
    }
    return undefined;
  }

  async #perform(item: Item, part: number): Promise<void> {
    const { signal } = this.options;
    if (item.kind === "document") {
      if (item.photo) await this.#sendPhoto(item);
      else await this.api.sendDocument(this.chatId, item.document, item.caption, signal);
      item.sent = true;
      return;
    }
    const { parts, keyboard } = item.render();
    const html = parts[part] ?? "";
    const last = part === parts.length - 1;
    const buttons = last && keyboard ? JSON.stringify(keyboard) : "";
    const sent = item.sent[part];
    const markup = last && keyboard ? { reply_markup: keyboard } : {};
    try {
      if (sent?.messageId === undefined) {
        const message = SentMessage.parse(
          await this.api.call("sendMessage", { chat_id: this.chatId, text: html, parse_mode: "HTML", ...markup }, signal),
        );
        item.sent[part] = { messageId: message.message_id, html, keyboard: buttons };
      } else {
        await this.api.call(
          "editMessageText",
          { chat_id: this.chatId, message_id: sent.messageId, text: html, parse_mode: "HTML", ...markup },
          signal,
        );
        item.sent[part] = { messageId: sent.messageId, html, keyboard: buttons };
      }
    } catch (error) {
      if (!(error instanceof TelegramApiError) || error.apiCode !== 400) throw error;
      const taken = { messageId: sent?.messageId, html, keyboard: buttons };
      if (/message is not modified/i.test(error.description)) item.sent[part] = taken;
      else if (/message to edit not found/i.test(error.description)) item.sent[part] = { ...taken, messageId: undefined, html: "" };
      else if (/can't parse entities/i.test(error.description)) {
        this.options.log(`telegram: chat ${this.chatId}: the Bot API refused org's HTML (${error.description}); sent as plain text`);
        const message = SentMessage.parse(
          await this.api.call("sendMessage", { chat_id: this.chatId, text: plainText(html).slice(0, 4096) || "…" }, signal),
        );
        item.sent[part] = { ...taken, messageId: message.message_id };
      } else throw error;
    }
  }

  /**
   * A photo, or the same file as a document when Telegram refuses it as a photo (a full-page screenshot taller than 20
   * times its width, or over 10000 pixels around): the person still gets the image, as a file.
   */
  async #sendPhoto(item: Document): Promise<void> {
    const { signal } = this.options;
    try {
      await this.api.sendPhoto(this.chatId, item.document, item.caption, signal);
    } catch (error) {
      if (!(error instanceof TelegramApiError) || error.apiCode !== 400 || /chat not found/i.test(error.description)) throw error;
      this.options.log(`telegram: chat ${this.chatId}: the Bot API refused a photo (${error.description}); sent as a document`);
      await this.api.sendDocument(this.chatId, item.document, item.caption, signal);
    }
  }

  #failed(item: Item, part: number, error: unknown): void {
    const why = error instanceof Error ? error.message : String(error);
    if (error instanceof TelegramApiError && (error.apiCode === 403 || error.apiCode === 401)) {
      // The bot was blocked or removed from the chat: nothing more can be said there.
      this.options.log(`telegram: chat ${this.chatId}: ${why}; its messages are dropped`);
      this.#gone = true;
      this.#items.length = 0;
      return;
    }
    item.failures += 1;
    if (error instanceof TelegramUnreachableError && item.failures < MAX_FAILURES) return;
    this.options.log(`telegram: chat ${this.chatId}: a message was not sent: ${why}`);
    // Given up: marked as sent, so the outbox goes on with the rest.
    if (item.kind === "document") item.sent = true;
    else {
      const { parts, keyboard } = item.render();
      const last = part === parts.length - 1;
      item.sent[part] = {
        messageId: item.sent[part]?.messageId,
        html: parts[part] ?? "",
        keyboard: last && keyboard ? JSON.stringify(keyboard) : "",
      };
    }
    item.failures = 0;
  }

  /** Items that are closed and wholly sent are forgotten (a long session keeps no history here). */
  #forgetDone(): void {
    // Only from the front: a later item that is done still orders the ones not yet sent behind it.
    for (let item = this.#items[0]; item !== undefined; item = this.#items[0]) {
      const done = item.kind === "document" ? item.sent : item.closed && item.sent.length > 0 && this.#changedPart(item) === undefined;
      if (!done) break;
      this.#items.shift();
      this.#turn = Math.max(0, this.#turn - 1);
    }
  }
}
