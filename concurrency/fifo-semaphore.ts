/** Timers a semaphore uses; tests pass a virtual clock so properties can explore timeouts without waiting. */
export type SemaphoreTimers = {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
};

const realTimers: SemaphoreTimers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Waiter = {
  grant(release: () => void): void;
  timer: unknown;
};

/**
 * A first-come, first-served counting semaphore. Each grant comes with an idempotent release; a released slot
 * passes synchronously to the next waiter, so no later caller can slip in between. A waiter whose timeout
 * passes or whose signal aborts leaves the queue at once and never gets a slot.
 */
export class FifoSemaphore {
  readonly capacity: number;
  #inUse = 0;
  #queue: Waiter[] = [];
  readonly #timers: SemaphoreTimers;

  constructor(capacity: number, options: { timers?: SemaphoreTimers } = {}) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.#timers = options.timers ?? realTimers;
  }

  /** Slots granted and not yet released. */
  get inUse(): number {
    return this.#inUse;
  }

  /** True when an `acquire` now would have to queue. */
  get isFull(): boolean {
    return this.#inUse >= this.capacity;
  }

  /** How many waiters are queued. */
  get queueLength(): number {
    return this.#queue.length;
  }

  /**
   * Resolves with a release function once a slot is the caller's. With a finite `timeoutMs` it rejects with
   * `timeoutError()` when no slot came in time; an aborting `signal` rejects with the signal's reason.
   */
  acquire(options: { signal?: AbortSignal; timeoutMs?: number; timeoutError?: (timeoutMs: number) => Error } = {}): Promise<() => void> {
    const { signal, timeoutMs = Number.POSITIVE_INFINITY } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.isFull) {
      this.#inUse += 1;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<() => void>((resolve, reject) => {
      const leave = (error: unknown) => {
        const index = this.#queue.indexOf(waiter);
        if (index === -1) return; // already granted: the slot is ours, the timeout is moot
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
        const timeoutError = options.timeoutError ?? ((ms) => new Error(`no slot became free within ${ms} ms`));
        waiter.timer = this.#timers.set(() => leave(timeoutError(timeoutMs)), Math.max(0, timeoutMs));
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next)
        next.grant(this.#releaser()); // the slot passes straight on
      else this.#inUse -= 1;
    };
  }
}
