import type { RoomEvent } from "../room/room-event.ts";

type HeldReply = { persona: string; text: string; ended: boolean; shown: number };

/**
 * The text of one streamed chat completion, from the room's events: one reply streams live; replies that run
 * beside it are held and follow it whole, as on the console. Each reply is a block of its own, separated by a
 * blank line and, for the group (no `target`), beginning with the persona's name. In direct mode only the
 * target's replies count; a hop to another persona is not the answer.
 */
export class ReplyInterleaver {
  readonly #order: string[] = [];
  readonly #replies = new Map<string, HeldReply>();
  readonly #target: string | undefined;
  readonly #emit: (content: string) => void;
  #blocks = 0;
  #live = 0;

  /** `emit` gets each new piece of text, in the order a client should show it. */
  constructor(target: string | undefined, emit: (content: string) => void) {
    this.#target = target;
    this.#emit = emit;
  }

  /** How many replies have begun to show. */
  get blocks(): number {
    return this.#blocks;
  }

  /** Takes one room event; emits what it lets show. */
  onEvent(event: RoomEvent): void {
    if (event.type === "reply-start" && (this.#target === undefined || event.persona === this.#target)) {
      this.#order.push(event.replyId);
      this.#replies.set(event.replyId, { persona: event.persona, text: "", ended: false, shown: 0 });
    } else if (event.type === "text-delta") {
      const reply = this.#replies.get(event.replyId);
      if (!reply) return;
      // Leading whitespace waits, so a block never starts blank.
      reply.text += event.text;
      if (reply.text.trim() === "") return;
    } else if (event.type === "error" && event.replyId && event.kind !== "aborted") {
      const reply = this.#replies.get(event.replyId);
      // Only a reply that said something gets the note; one that said nothing is left out (or the turn fails).
      if (!reply || reply.text.trim() === "") return;
      reply.text += `\n\n(the reply broke off: ${event.message})`;
    } else if (event.type === "reply-end") {
      const reply = this.#replies.get(event.replyId);
      if (reply) reply.ended = true;
    } else return;
    this.#advance();
  }

  /** The turn is over: every held reply shows, in order. */
  endAll(): void {
    for (const reply of this.#replies.values()) reply.ended = true;
    this.#advance();
  }

  #show(replyId: string): void {
    const reply = this.#replies.get(replyId);
    if (!reply || reply.shown >= reply.text.length) return;
    let piece = reply.text.slice(reply.shown);
    if (reply.shown === 0) {
      piece = `${this.#blocks > 0 ? "\n\n" : ""}${this.#target ? "" : `${reply.persona}: `}${piece.replace(/^\s+/, "")}`;
      this.#blocks += 1;
    }
    reply.shown = reply.text.length;
    this.#emit(piece);
  }

  #advance(): void {
    for (let current = this.#order[this.#live]; current !== undefined; current = this.#order[this.#live]) {
      this.#show(current);
      if (!this.#replies.get(current)?.ended) return;
      this.#live += 1;
    }
  }
}
