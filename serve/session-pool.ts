import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { RoomEvent } from "../room/room-event.ts";
import type { RemoteApprovals } from "../room/room-approvals.ts";
import type { Room } from "../room/room.ts";
import { RoomStream } from "../room/room-stream.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { HttpError } from "./http-error.ts";
import { StreamSlots } from "./stream-slots.ts";

/**
 * What the pool needs to open a room: a new session, or the one named (resumed from its transcript), publishing into
 * the session's stream, its approval questions answered by whoever watches that stream.
 */
export type OpenSessionRoom = (session: {
  resume?: string;
  stream: RoomStream;
  remoteApprovals: RemoteApprovals;
  requestId: () => string | undefined;
}) => Promise<Room>;

/** Characters of history all open rooms may hold unless the pool is told otherwise. */
export const DEFAULT_MAX_OPEN_CHARS = 64_000_000;

/**
 * What a room holds in memory, counted in characters: its messages' text and their tool runs. Its stream's held events
 * are bounded on their own (`ROOM_STREAM_CHARS` a session), so they are not counted here.
 */
function roomChars(room: Room): number {
  let total = 0;
  for (const message of room.history()) total += message.text.length + (message.tools ? JSON.stringify(message.tools).length : 0);
  return total;
}

/** One request's hold on a session: its room, alone, and a turn slot; `release` gives both back. */
export type SessionLease = {
  room: Room;
  sessionId: string;
  /** Where the room's events go while this lease is held (a subscriber of the room's stream, from now; one at a time). */
  listen(onEvent: (event: RoomEvent) => void): void;
  release(): void;
};

/** One watcher's hold on a session (the room-wide event stream): the room stays open while it is held. */
export type SessionWatch = { room: Room; stream: RoomStream; sessionId: string; release(): void };

type Entry = {
  room: Room;
  /** The session's stream: it outlives a room reopened with new tools, so its numbers go on. */
  stream: RoomStream;
  lock: FifoSemaphore;
  /** The tool generation the room was opened with. */
  generation: number;
  requestId: string | undefined;
  holders: number;
  /** Subscribers of the session's room-wide stream: while there are any, the room is kept open and "ask" is asked of them. */
  watchers: number;
  /** Of the watchers, those that follow the stream over HTTP (`GET /v1/sessions/:id/events`), bounded per session. */
  streams: StreamSlots;
  lastUsed: number;
};

/**
 * The rooms of the server's sessions. Requests for one session run one after another; requests for different
 * sessions run at once, up to `turns` (model servers' own slots are shared on top, by the rooms). Past
 * `queue` waiting requests the pool answers 429. Idle rooms beyond `maxOpen`, or beyond `maxOpenChars` characters
 * of history in all (long replies make big rooms), are closed, least recently used first; their transcripts stay
 * and the next request resumes them.
 */
export class SessionPool {
  readonly #entries = new Map<string, Entry>();
  readonly #opening = new Map<string, Promise<Entry>>();
  readonly #turns: FifoSemaphore;
  #waiting = 0;
  #closed = false;

  constructor(
    readonly options: {
      open: OpenSessionRoom;
      turns: number;
      queue: number;
      maxOpen: number;
      /** Characters of history (text and tool runs) the open rooms may hold in all. Default 64 million. */
      maxOpenChars?: number;
      generation: () => number;
      /** How long an approval question waits for a watcher's answer. Default 600 s. */
      approvalTimeoutMs?: number;
      /** What each session's stream holds for watchers that come back (`RoomStream`'s defaults unless set). */
      streamHold?: { maxEvents?: number; maxChars?: number };
    },
  ) {
    this.#turns = new FifoSemaphore(options.turns);
  }

  /** Sessions held open in memory. */
  get size(): number {
    return this.#entries.size;
  }

  /** Requests that hold a turn slot now. */
  get busy(): number {
    return this.#turns.inUse;
  }

  /** A turn slot for work outside a session (a tool run over HTTP); 429 when too many wait. */
  async toolSlot(signal: AbortSignal): Promise<() => void> {
    this.#admit();
    this.#waiting += 1;
    try {
      return await this.#turns.acquire({ signal });
    } finally {
      this.#waiting -= 1;
    }
  }

  #admit(): void {
    if (this.#closed) throw new HttpError(503, "the server is shutting down; try again when it is back.");
    // Admitted requests that do not run yet may fill the free turn slots and the queue; past that, 429.
    const freeTurns = this.options.turns - this.#turns.inUse;
    if (this.#waiting >= this.options.queue + Math.max(0, freeTurns)) {
      throw new HttpError(
        429,
        `${this.#waiting} requests are already waiting for a turn (serve.turns ${this.options.turns}, ` +
          `serve.queue ${this.options.queue}); retry later.`,
        { "retry-after": "1" },
      );
    }
  }

  /**
   * Waits for the session (new when `session` is undefined) and a turn slot. Throws SessionNotFoundError for an
   * unknown session, HttpError 429 when too many requests wait, 409 with `busy: "refuse"` when a turn runs in the
   * session; the signal's abort rejects.
   */
  async lease(
    session: string | undefined,
    requestId: string,
    signal: AbortSignal,
    options: { busy?: "wait" | "refuse" } = {},
  ): Promise<SessionLease> {
    this.#admit();
    this.#waiting += 1;
    let entry: Entry | undefined;
    let releaseLock: (() => void) | undefined;
    let releaseTurn: (() => void) | undefined;
    try {
      entry = await this.#entry(session);
      entry.holders += 1;
      if (options.busy === "refuse" && entry.lock.isFull) {
        throw new HttpError(
          409,
          `a turn is running in session ${entry.room.sessionId}; wait for its turn-end event, or stop it (POST …/stop), then send again.`,
        );
      }
      releaseLock = await entry.lock.acquire({ signal });
      releaseTurn = await this.#turns.acquire({ signal });
      entry = await this.#fresh(entry);
      const held = entry;
      held.requestId = requestId;
      const unlock = releaseLock;
      const untake = releaseTurn;
      let released = false;
      let unsubscribe: (() => void) | undefined;
      return {
        room: held.room,
        sessionId: held.room.sessionId,
        listen: (onEvent) => {
          unsubscribe?.();
          unsubscribe = held.stream.subscribe((frame) => frame.kind === "event" && onEvent(frame.event));
        },
        release: () => {
          if (released) return;
          released = true;
          unsubscribe?.();
          held.requestId = undefined;
          held.holders -= 1;
          held.lastUsed = performance.now();
          untake();
          unlock();
          void this.#evict();
        },
      };
    } catch (error) {
      releaseTurn?.();
      releaseLock?.();
      if (entry) entry.holders -= 1;
      throw error;
    } finally {
      this.#waiting -= 1;
    }
  }

  /**
   * Holds a session open for a watcher of its room-wide stream (opened, or resumed from its transcript, when it is not
   * open); no turn slot is taken. Throws SessionNotFoundError for an unknown session, 503 while shutting down. A
   * `stream` (a client following it over HTTP) counts against `maxStreams` of the session: 429 past it, until one of
   * them is released.
   */
  async watch(session: string, stream?: { maxStreams: number }): Promise<SessionWatch> {
    if (this.#closed) throw new HttpError(503, "the server is shutting down; try again when it is back.");
    const entry = await this.#entry(session);
    // Taken after the await, the check and the count in one step: requests arriving together cannot all pass it.
    const releaseStream = stream
      ? entry.streams.take(
          stream.maxStreams,
          () =>
            `session ${entry.room.sessionId} has ${stream.maxStreams} event streams open already, the most one session may ` +
            "(serve.streamsPerSession); close one (another tab of the web room, another client) and try again.",
        )
      : undefined;
    entry.watchers += 1;
    let released = false;
    return {
      room: entry.room,
      stream: entry.stream,
      sessionId: entry.room.sessionId,
      release: () => {
        if (released) return;
        released = true;
        entry.watchers -= 1;
        releaseStream?.();
        entry.lastUsed = performance.now();
        void this.#evict();
      },
    };
  }

  /** The open room of a session, or undefined when it is not open (nothing of it is running then). */
  openRoom(session: string): Room | undefined {
    return this.#entries.get(session)?.room;
  }

  /** How many watchers hold the session's stream now. */
  watchers(session: string): number {
    return this.#entries.get(session)?.watchers ?? 0;
  }

  /** Whether the session's room is open in memory now. */
  isOpen(session: string): boolean {
    return this.#entries.has(session);
  }

  async #entry(session: string | undefined): Promise<Entry> {
    if (session !== undefined) {
      const found = this.#entries.get(session);
      if (found) return found;
      const pending = this.#opening.get(session);
      if (pending) return pending;
    }
    const opening = this.#open(session);
    if (session !== undefined) this.#opening.set(session, opening);
    try {
      return await opening;
    } finally {
      if (session !== undefined) this.#opening.delete(session);
    }
  }

  async #open(session: string | undefined): Promise<Entry> {
    // The room's hooks read the entry's watchers and request id, so the entry exists before its room does.
    const pending: Omit<Entry, "room"> = {
      stream: new RoomStream(this.options.streamHold ?? {}),
      lock: new FifoSemaphore(1),
      generation: this.options.generation(),
      requestId: undefined,
      holders: 0,
      watchers: 0,
      streams: new StreamSlots(),
      lastUsed: performance.now(),
    };
    const room = await this.options.open({
      ...(session !== undefined ? { resume: session } : {}),
      ...this.#roomHooks(pending),
    });
    const entry: Entry = Object.assign(pending, { room });
    this.#entries.set(room.sessionId, entry);
    return entry;
  }

  /** What a session's room is opened with: its stream, its watchers as answerers of approval questions, the request id. */
  #roomHooks(entry: Omit<Entry, "room">) {
    return {
      stream: entry.stream,
      remoteApprovals: { available: () => entry.watchers > 0, timeoutMs: this.options.approvalTimeoutMs ?? 600_000 },
      requestId: () => entry.requestId,
    };
  }

  /** A room opened before the tools were reloaded is closed and resumed from its transcript with the new tools. */
  async #fresh(entry: Entry): Promise<Entry> {
    if (entry.generation === this.options.generation()) return entry;
    const sessionId = entry.room.sessionId;
    await entry.room.close();
    const room = await this.options.open({ resume: sessionId, ...this.#roomHooks(entry) });
    entry.room = room;
    entry.generation = this.options.generation();
    return entry;
  }

  /**
   * Offers the promoted tools as they are now to every open room (after a promotion or a rollback took effect): a
   * notice in each names what came and went, so its watchers see it at once. A room is also reopened with them before
   * its next turn, as every room opened at an older tool generation is.
   */
  offerPromotedTools(tools: readonly AnyTool[], logError: (line: string) => void): void {
    for (const [id, entry] of this.#entries) {
      try {
        entry.room.offerPromotedTools(tools);
      } catch (error) {
        logError(`serve: session ${id} could not be offered the promoted tools: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
  }

  /**
   * Says `message` in every open session, as a `notice` of `reason` on its stream (its watchers see it at once; the
   * transcript does not keep it, as the terminal does not keep its own lines).
   */
  notice(reason: Extract<RoomEvent, { type: "notice" }>["reason"], message: string): void {
    for (const entry of this.#entries.values()) entry.stream.publish({ type: "notice", reason, message });
  }

  /** Characters the open rooms hold in their histories. */
  get openChars(): number {
    let total = 0;
    for (const entry of this.#entries.values()) total += roomChars(entry.room);
    return total;
  }

  async #evict(): Promise<void> {
    const idle = [...this.#entries.entries()]
      .filter(([, entry]) => entry.holders === 0 && entry.watchers === 0)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const maxChars = this.options.maxOpenChars ?? DEFAULT_MAX_OPEN_CHARS;
    let chars = this.openChars;
    for (const [id, entry] of idle) {
      if (this.#entries.size <= this.options.maxOpen && chars <= maxChars) break;
      chars -= roomChars(entry.room);
      this.#entries.delete(id);
      await entry.room.close();
      entry.stream.close();
    }
  }

  /** Closes every room: their running turns are stopped, transcripts kept. */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map((entry) => entry.room.close()));
    for (const entry of entries) entry.stream.close();
  }
}
