import type { FileOutlet, OutgoingFile } from "../tools/send-file.ts";

type Deliver = (file: OutgoingFile, caption: string, signal: AbortSignal) => Promise<void>;

/**
 * send_file's way to the person: each Telegram chat binds its room session here when it opens it, so a call in that
 * session goes to that chat (sendDocument); a session no chat follows has none. Made once where `org telegram` is
 * assembled and handed both to the rooms' tools and to the bridge.
 */
export class TelegramFileOutlet implements FileOutlet {
  readonly #chats = new Map<string, Deliver>();

  constructor(readonly maxBytes: number) {}

  /** The chat that follows `sessionId`; replaces one bound before. */
  bind(sessionId: string, deliver: Deliver): void {
    this.#chats.set(sessionId, deliver);
  }

  unbind(sessionId: string, deliver: Deliver): void {
    if (this.#chats.get(sessionId) === deliver) this.#chats.delete(sessionId);
  }

  async send(sessionId: string, file: OutgoingFile, caption: string, signal: AbortSignal): Promise<"sent" | "no-chat"> {
    const deliver = this.#chats.get(sessionId);
    if (!deliver) return "no-chat";
    await deliver(file, caption, signal);
    return "sent";
  }
}
