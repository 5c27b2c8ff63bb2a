import type { OpenedChatRoom } from "./chat-room.ts";

/**
 * The console's room, which a changed config opens again: turns and reloads take turns (a reload waits for the turn
 * under way, a message typed meanwhile waits for the reload), and a change said while a reload runs is read once more
 * after it, so the room ends up on the file as it is.
 */
export class LiveRoom {
  #opened: OpenedChatRoom;
  #turn: Promise<unknown> | undefined;
  #reload: Promise<void> | undefined;
  #again = false;

  constructor(
    opened: OpenedChatRoom,
    /** Reads the config again and opens the room on it; the room as it was when the config is the same or unusable. */
    private readonly reopen: (current: OpenedChatRoom) => Promise<OpenedChatRoom>,
  ) {
    this.#opened = opened;
  }

  /** The room open now. */
  get opened(): OpenedChatRoom {
    return this.#opened;
  }

  /** Runs one turn (or command) on the room open now (`opened`), once any reload under way is over. */
  async turn<T>(run: () => Promise<T>): Promise<T> {
    while (this.#reload) await this.#reload;
    const work = run();
    this.#turn = work;
    try {
      return await work;
    } finally {
      this.#turn = undefined;
    }
  }

  /** The config changed: the room is opened again on it once the turn under way is over. */
  changed(): void {
    if (this.#reload) {
      this.#again = true;
      return;
    }
    this.#reload = this.#reloadWhenIdle().finally(() => {
      this.#reload = undefined;
      if (this.#again) {
        this.#again = false;
        this.changed();
      }
    });
  }

  /** Resolves once no reload is under way (the one asked last included). */
  async settled(): Promise<void> {
    while (this.#reload) await this.#reload;
  }

  async #reloadWhenIdle(): Promise<void> {
    while (this.#turn) await this.#turn.catch(() => undefined);
    this.#opened = await this.reopen(this.#opened);
  }
}
