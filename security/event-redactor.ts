import { KnownSecrets } from "./known-secrets.ts";
import { redactValue } from "./redact.ts";
import { StreamRedactor } from "./stream-redactor.ts";

type Event = { type: string };
type DeltaEvent = Event & { type: "text-delta" | "reasoning-delta"; replyId: string; text: string };

const isDelta = (event: Event): event is DeltaEvent =>
  (event.type === "text-delta" || event.type === "reasoning-delta") && "replyId" in event && typeof event.replyId === "string";

/** The reply an event belongs to: its `replyId`, or the id of the message it carries. */
function replyOf(event: Event): string | undefined {
  if ("replyId" in event && typeof event.replyId === "string") return event.replyId;
  const message = "message" in event ? event.message : undefined;
  return typeof message === "object" && message !== null && "id" in message && typeof message.id === "string" ? message.id : undefined;
}

/**
 * The redaction point of what the room reports (docs/ARCHITECTURE.md, "Redaction points"; invariant 11):
 * every room event passes here before the console, `--json`, the transcript or an HTTP client sees it. Streamed deltas go through a StreamRedactor
 * per reply
 * and kind, so a secret split across chunks is caught; any other event of that reply first releases what
 * its streams still hold, and is itself redacted whole.
 */
export class EventRedactor {
  #streams = new Map<string, { redactor: StreamRedactor; template: DeltaEvent }>();

  readonly secrets: KnownSecrets;

  /** `secrets`: the room's, worked out once with the environment's for every event it passes. */
  constructor(secrets: readonly string[] = []) {
    this.secrets = new KnownSecrets(secrets);
  }

  /** The events to pass on for `event`, in order: none while a delta is held, several when held text is released. */
  pass<E extends Event>(event: E): E[] {
    if (isDelta(event)) {
      const out: E[] = [];
      // The other kind of the same reply (reasoning before text) is released first, keeping the order.
      const other = `${event.replyId}\0${event.type === "text-delta" ? "reasoning-delta" : "text-delta"}`;
      this.#release(other, out);
      const key = `${event.replyId}\0${event.type}`;
      let stream = this.#streams.get(key);
      if (!stream) {
        stream = { redactor: new StreamRedactor(this.secrets), template: event };
        this.#streams.set(key, stream);
      }
      const text = stream.redactor.push(event.text);
      // The stream redactor's output is redacted already; the other fields are org's own.
      if (text !== "") out.push({ ...event, text });
      return out;
    }
    const out: E[] = [];
    const reply = replyOf(event);
    for (const key of [...this.#streams.keys()]) {
      if (reply === undefined ? event.type === "turn-end" : key.startsWith(`${reply}\0`)) this.#release(key, out);
    }
    out.push(redactValue(event, this.secrets));
    return out;
  }

  /** Releases every stream still held (the room is closing). */
  flush<E extends Event>(): E[] {
    const out: E[] = [];
    for (const key of [...this.#streams.keys()]) this.#release(key, out);
    return out;
  }

  #release<E extends Event>(key: string, out: E[]): void {
    const stream = this.#streams.get(key);
    if (!stream) return;
    this.#streams.delete(key);
    const text = stream.redactor.flush();
    if (text !== "") out.push({ ...stream.template, text } as unknown as E);
  }
}
