/**
 * The clock of one browser call: it runs while the browser works and stops while a question of the call waits for the
 * person (a new host the page loads from), so the time a person takes to answer never counts against
 * `actionTimeoutS`. The question itself is bounded by the room's approval wait.
 */
export class ActionClock {
  /** Questions waiting now (a page may ask about several hosts at once). */
  #waiting = 0;
  /** Time waited for the person, up to the start of the wait going on now. */
  #waitedMs = 0;
  #waitingSince = 0;
  /** Timers stopped by a wait, run again when it ends. */
  #onResume: (() => void)[] = [];

  constructor(readonly now: () => number = () => performance.now()) {}

  /** Runs `ask` (a question to the person) with the clock stopped. */
  async whileWaiting<T>(ask: () => Promise<T>): Promise<T> {
    if (this.#waiting === 0) this.#waitingSince = this.now();
    this.#waiting += 1;
    try {
      return await ask();
    } finally {
      this.#waiting -= 1;
      if (this.#waiting === 0) {
        this.#waitedMs += this.now() - this.#waitingSince;
        for (const resume of this.#onResume.splice(0)) resume();
      }
    }
  }

  /** All the time spent waiting for the person so far. */
  waitedMs(): number {
    return this.#waitedMs + (this.#waiting > 0 ? this.now() - this.#waitingSince : 0);
  }

  /**
   * `work`, or `late()`'s error once `ms` of the clock's time (waits for the person left out) have passed without it
   * settling. `work`'s later failure is swallowed.
   */
  async within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
    work.catch(() => undefined);
    const started = this.now();
    const waitedBefore = this.waitedMs();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const deadline = new Promise<never>((_, reject) => {
      const check = () => {
        if (settled) return;
        if (this.#waiting > 0) {
          this.#onResume.push(check);
          return;
        }
        const left = ms - (this.now() - started - (this.waitedMs() - waitedBefore));
        if (left <= 0) reject(late());
        else timer = setTimeout(check, left);
      };
      check();
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }
}

/** An action's own wait ran out on the clock; `isTimeout` (`playwright-timeout.ts`) takes it as Playwright's own timeout. */
export class ActionTimeoutError extends Error {
  override name = "ActionTimeoutError";
}
