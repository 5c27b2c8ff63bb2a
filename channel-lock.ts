/** A waiter gave up: the lock was not free within its timeout. It holds nothing and is no longer queued. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(
      `the channel stayed busy for ${timeoutMs} ms, so this waiter gave up; it holds nothing and left the queue. Wait longer, or release the lock that is still held.`,
    );
  }
}

/** Timers the lock uses; tests pass a virtual clock so properties can explore timeouts without waiting. */
export type LockTimers = {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
};

const realTimers: LockTimers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Waiter = {
  grant(release: () => void): void;
  timer: unknown;
};

/**
 * A mutual-exclusion lock over one output channel (the console): waiters get it first come, first served.
 * The release function is idempotent; a waiter that times out leaves the queue at once and never gets the lock.
 */
export class ChannelLock {
  #held = false;
  #queue: Waiter[] = [];
  readonly #timers: LockTimers;

  constructor(options: { timers?: LockTimers } = {}) {
    this.#timers = options.timers ?? realTimers;
  }

  /** True while someone holds the lock. */
  get isLocked(): boolean {
    return this.#held;
  }

  /** How many waiters are queued behind the holder. */
  get queueLength(): number {
    return this.#queue.length;
  }

  /**
   * Resolves with a release function once the lock is this caller's; rejects with LockTimeoutError after
   * `timeoutMs` (Infinity waits for ever). A signal that aborts also removes the waiter.
   */
  waitForLock(timeoutMs: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<() => void>((resolve, reject) => {
      const leave = (error: unknown) => {
        const index = this.#queue.indexOf(waiter);
        if (index === -1) return; // already granted: the lock is ours, the timeout is moot
        this.#queue.splice(index, 1);
        if (waiter.timer !== undefined) this.#timers.clear(waiter.timer);
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      };
      const onAbort = () => leave(signal?.reason);
      const waiter: Waiter = {
        timer: undefined,
        grant: (release) => {
          if (waiter.timer !== undefined) this.#timers.clear(waiter.timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      this.#queue.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        waiter.timer = this.#timers.set(() => leave(new LockTimeoutError(timeoutMs)), Math.max(0, timeoutMs));
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand over synchronously: the next waiter owns the lock from this moment, so no one can slip in between.
      const next = this.#queue.shift();
      if (next) next.grant(this.#releaser());
      else this.#held = false;
    };
  }
}
