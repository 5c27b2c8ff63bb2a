import { FifoSemaphore, type SemaphoreTimers } from "./fifo-semaphore.ts";
import { OrgError } from "../errors/org-error.ts";

/** A waiter gave up: the lock was not free within its timeout. It holds nothing and is no longer queued. */
export class LockTimeoutError extends OrgError {
  override name = "LockTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(
      `the channel stayed busy for ${timeoutMs} ms, so this waiter gave up; it holds nothing and left the ` +
        `queue. Wait longer, or release the lock that is still held.`,
    );
  }
}

export type { SemaphoreTimers as LockTimers } from "./fifo-semaphore.ts";

/**
 * A mutual-exclusion lock over one output channel (the console): waiters get it first come, first served.
 * The release function is idempotent; a waiter that times out leaves the queue at once and never gets the lock.
 */
export class ChannelLock {
  readonly #slot: FifoSemaphore;

  constructor(options: { timers?: SemaphoreTimers } = {}) {
    this.#slot = new FifoSemaphore(1, options);
  }

  /** True while someone holds the lock. */
  get isLocked(): boolean {
    return this.#slot.isFull;
  }

  /** How many waiters are queued behind the holder. */
  get queueLength(): number {
    return this.#slot.queueLength;
  }

  /**
   * Resolves with a release function once the lock is this caller's; rejects with LockTimeoutError after
   * `timeoutMs` (Infinity waits for ever). A signal that aborts also removes the waiter.
   */
  waitForLock(timeoutMs: number, signal?: AbortSignal): Promise<() => void> {
    return this.#slot.acquire({ signal, timeoutMs, timeoutError: (ms) => new LockTimeoutError(ms) });
  }
}
