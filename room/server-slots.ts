/**
 * How many requests the room has open against one model server: a FIFO counting semaphore.
 * A stock Ollama serves one request at a time, so the default is one slot per server.
 */
export class ServerSlots {
  readonly capacity: number;
  #inUse = 0;
  #queue: { grant(): void }[] = [];

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  /** True when an `acquire` now would have to queue. */
  get isFull(): boolean {
    return this.#inUse >= this.capacity;
  }

  /** Resolves with an idempotent release once a slot is free; an abort leaves the queue. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inUse < this.capacity && this.#queue.length === 0) {
      this.#inUse += 1;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#queue.indexOf(waiter);
        if (index === -1) return;
        this.#queue.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#releaser());
        },
      };
      this.#queue.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next.grant(); // the slot passes straight on
      else this.#inUse -= 1;
    };
  }
}
