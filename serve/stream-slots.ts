import { HttpError } from "./http-error.ts";

/**
 * The event streams open at once against one bound (`serve.streamsPerSession`): `take` counts one in, or refuses it
 * with a 429 whose message names the bound, and the release it returns frees the place (once, however often called).
 * The check and the count are one step, so streams asked for together cannot all pass it.
 */
export class StreamSlots {
  #open = 0;

  /** How many are open now. */
  get open(): number {
    return this.#open;
  }

  /** Takes a place under `max`, or throws HttpError 429 (retry after 5 s) saying `refusal()`; returns what frees it. */
  take(max: number, refusal: () => string): () => void {
    if (this.#open >= max) throw new HttpError(429, refusal(), { "retry-after": "5" });
    this.#open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open -= 1;
    };
  }
}
