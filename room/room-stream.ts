import type { RoomEvent } from "./room-event.ts";
import type { RoomStreamFrame, StreamedEvent, StreamReset } from "./room-stream-frame.ts";

/** Takes each frame of a room's stream, in order; it must not throw (a throw is dropped, the stream goes on). */
export type RoomStreamListener = (frame: RoomStreamFrame) => void;

/** Events a stream holds for subscribers that come back, unless told otherwise. */
export const ROOM_STREAM_EVENTS = 4_096;
/** Characters of events (their JSON, about) a stream holds, unless told otherwise: a few seconds of four personas streaming. */
export const ROOM_STREAM_CHARS = 256_000;

type Held = { frame: StreamedEvent; chars: number };
type Subscriber = { listener: RoomStreamListener; onClose: (() => void) | undefined };

/** About how many characters an event's JSON takes: deltas by their text, without serializing each. */
function sizeOf(event: RoomEvent): number {
  return event.type === "text-delta" || event.type === "reasoning-delta" ? event.text.length + 80 : JSON.stringify(event).length;
}

/**
 * One room's events as one stream (docs/ARCHITECTURE.md, "Event vocabularies"): each published event gets the next
 * sequence number and goes to every subscriber, in order, synchronously. The newest events are held (a bounded number
 * and size), so a subscriber that comes back with the last number it saw gets exactly what it missed, then the live
 * events; one that missed more than is held gets a `reset` instead. Sequence numbers start at the stream's creation
 * time in microseconds, so a stream made again for the same session (after a restart) never reuses one.
 */
export class RoomStream {
  readonly #held: Held[] = [];
  #start = 0;
  #chars = 0;
  #next: number;
  readonly #maxEvents: number;
  readonly #maxChars: number;
  readonly #subscribers = new Set<Subscriber>();
  /** Events published while others are being delivered (a listener that makes the room say something) wait their turn. */
  readonly #queue: StreamedEvent[] = [];
  #delivering = false;
  #closed = false;

  constructor(options: { maxEvents?: number; maxChars?: number; firstSeq?: number } = {}) {
    this.#maxEvents = Math.max(1, options.maxEvents ?? ROOM_STREAM_EVENTS);
    this.#maxChars = Math.max(1, options.maxChars ?? ROOM_STREAM_CHARS);
    this.#next = options.firstSeq ?? Date.now() * 1000;
  }

  /** The number of the newest event published; one less than the first event's before any. */
  get lastSeq(): number {
    return this.#next - 1;
  }

  /** The number of the oldest event still held, or undefined when none is. */
  get oldestSeq(): number | undefined {
    return this.#held[this.#start]?.frame.seq;
  }

  /** Characters (about) of the events held, for whoever bounds the memory of many rooms. */
  get heldChars(): number {
    return this.#chars;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Gives `event` the next number, holds it, and hands it to every subscriber. */
  publish(event: RoomEvent): StreamedEvent {
    const frame: StreamedEvent = { kind: "event", seq: this.#next, event };
    this.#next += 1;
    this.#hold(frame);
    this.#queue.push(frame);
    if (!this.#delivering) this.#drain();
    return frame;
  }

  /**
   * Subscribes `listener`. With `after` (the last number the subscriber saw), the events after it are handed over
   * first, synchronously, then the live ones, none twice; when they are no longer held, or `after` is not a number this
   * stream gave, a `reset` comes first instead. Without `after`, only live events. `onClose` is called when the stream
   * closes (its room closed). Returns how to unsubscribe.
   */
  subscribe(listener: RoomStreamListener, options: { after?: number; onClose?: () => void } = {}): () => void {
    const subscriber: Subscriber = { listener, onClose: options.onClose };
    if (this.#closed) {
      subscriber.onClose?.();
      return () => {};
    }
    if (options.after !== undefined) for (const frame of this.#since(options.after)) this.#tell(subscriber, frame);
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  /** The frames a subscriber that saw up to `after` needs before the live ones. */
  #since(after: number): RoomStreamFrame[] {
    // Events published but not yet delivered reach this subscriber live, after it is added.
    const delivered = this.lastSeq - this.#queue.length;
    if (after === delivered) return [];
    const oldest = this.oldestSeq ?? this.#next;
    if (!Number.isSafeInteger(after) || after > delivered) return [this.#reset("unknown", after, delivered)];
    if (after < oldest - 1) return [this.#reset("gap", after, delivered)];
    const frames: RoomStreamFrame[] = [];
    for (let index = this.#start + (after + 1 - oldest); index < this.#held.length; index += 1) {
      const held = this.#held[index];
      if (held && held.frame.seq <= delivered) frames.push(held.frame);
    }
    return frames;
  }

  #reset(reason: StreamReset["reason"], after: number, delivered: number): StreamReset {
    const message =
      reason === "gap"
        ? `the events after ${after} are no longer held here; reload the session's transcript, then go on after its seq.`
        : `${after} is not a number this room's stream gave (its newest is ${delivered}); reload the session's transcript, then go on after its seq.`;
    return { kind: "reset", seq: delivered, reason, message };
  }

  /** Ends every subscription (the room closed): each subscriber's `onClose` is called once; later subscribers are closed at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const subscribers = [...this.#subscribers];
    this.#subscribers.clear();
    for (const subscriber of subscribers) {
      try {
        subscriber.onClose?.();
      } catch {
        // One subscriber's failure to close does not keep the others open.
      }
    }
  }

  #hold(frame: StreamedEvent): void {
    const chars = sizeOf(frame.event);
    this.#held.push({ frame, chars });
    this.#chars += chars;
    while (this.#held.length - this.#start > this.#maxEvents || (this.#chars > this.#maxChars && this.#held.length - this.#start > 1)) {
      const dropped = this.#held[this.#start];
      this.#start += 1;
      this.#chars -= dropped?.chars ?? 0;
    }
    // The array is compacted once half of it is dropped events, so holding costs O(1) per event on average.
    if (this.#start > this.#maxEvents) {
      this.#held.splice(0, this.#start);
      this.#start = 0;
    }
  }

  #drain(): void {
    this.#delivering = true;
    try {
      for (let frame = this.#queue.shift(); frame !== undefined; frame = this.#queue.shift()) {
        for (const subscriber of [...this.#subscribers]) this.#tell(subscriber, frame);
      }
    } finally {
      this.#delivering = false;
    }
  }

  #tell(subscriber: Subscriber, frame: RoomStreamFrame): void {
    try {
      subscriber.listener(frame);
    } catch {
      // A broken subscriber must not break the room or the other subscribers; the transcript has the event.
    }
  }
}
