import { randomBytes } from "node:crypto";
import type { InlineKeyboard } from "./chat-outbox.ts";

/** One button's meaning, kept on the server: the chat it was sent to, the approval, and the answer it gives. */
type Bound = { chatId: string; sessionId: string; approvalId: string; answer: "yes" | "no"; pair: string };

/** What a button press was taken for, or why it was refused. */
export type Pressed =
  | { ok: true; sessionId: string; approvalId: string; answer: "yes" | "no" }
  | { ok: false; why: "unknown" | "another-chat" | "used"; message: string };

/** Buttons kept at most; the oldest are forgotten first (pressing one then is refused as unknown). */
const MAX_BUTTONS = 2_000;
/** Ids pressed or closed, remembered so a second press hears that it came too late. */
const MAX_USED = 2_000;

/**
 * The Approve / Deny buttons of approval questions. A button's callback data is a short random id (16 characters,
 * never the approval's id or anything a model chose); the server keeps what it means, bound to the chat it was sent
 * to. A press from another chat, an id never given, and an id already pressed (or whose question was answered
 * elsewhere) are refused.
 */
export class ApprovalButtons {
  readonly #bound = new Map<string, Bound>();
  readonly #used = new Set<string>();

  /** The keyboard of a new question in `chatId`. */
  keyboard(chatId: string, sessionId: string, approvalId: string): InlineKeyboard {
    const yes = randomBytes(12).toString("base64url");
    const no = randomBytes(12).toString("base64url");
    this.#bound.set(yes, { chatId, sessionId, approvalId, answer: "yes", pair: no });
    this.#bound.set(no, { chatId, sessionId, approvalId, answer: "no", pair: yes });
    for (const id of this.#bound.keys()) {
      if (this.#bound.size <= MAX_BUTTONS) break;
      this.#bound.delete(id);
    }
    return {
      inline_keyboard: [
        [
          { text: "✅ Approve", callback_data: yes },
          { text: "❌ Deny", callback_data: no },
        ],
      ],
    };
  }

  /** A press of the button `data` in `chatId`: its meaning, used up with its pair; or why it is refused. */
  press(chatId: string, data: string): Pressed {
    const bound = this.#bound.get(data);
    if (!bound) {
      return this.#used.has(data)
        ? { ok: false, why: "used", message: "this question was already answered." }
        : { ok: false, why: "unknown", message: "this button is not one org gave (or it is from before a restart)." };
    }
    if (bound.chatId !== chatId) return { ok: false, why: "another-chat", message: "this button belongs to another chat." };
    this.#useUp(data, bound);
    return { ok: true, sessionId: bound.sessionId, approvalId: bound.approvalId, answer: bound.answer };
  }

  /** The question was answered (here or elsewhere): its buttons are used up. */
  closeApproval(approvalId: string): void {
    for (const [id, bound] of this.#bound) if (bound.approvalId === approvalId) this.#useUp(id, bound);
  }

  #useUp(id: string, bound: Bound): void {
    for (const gone of [id, bound.pair]) {
      this.#bound.delete(gone);
      this.#used.add(gone);
    }
    for (const old of this.#used) {
      if (this.#used.size <= MAX_USED) break;
      this.#used.delete(old);
    }
  }
}
