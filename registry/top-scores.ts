/** The `capacity` best-scoring positions seen, kept as a min-heap on score. */
export class TopScores {
  readonly #scores: Float64Array;
  readonly #positions: Int32Array;
  #length = 0;

  constructor(readonly capacity: number) {
    this.#scores = new Float64Array(Math.max(0, capacity));
    this.#positions = new Int32Array(Math.max(0, capacity));
  }

  /** Keeps `position` if it is among the best so far; returns the score a newcomer must now beat. */
  offer(position: number, score: number): number {
    if (this.capacity <= 0) return Number.POSITIVE_INFINITY;
    if (this.#length < this.capacity) this.#siftUp(position, score);
    else if (score > (this.#scores[0] ?? 0)) this.#replaceLowest(position, score);
    return this.#length < this.capacity ? Number.NEGATIVE_INFINITY : (this.#scores[0] ?? 0);
  }

  #siftUp(position: number, score: number): void {
    const scores = this.#scores;
    const positions = this.#positions;
    let at = this.#length;
    this.#length += 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = scores[parent] ?? 0;
      if (above <= score) break;
      scores[at] = above;
      positions[at] = positions[parent] ?? 0;
      at = parent;
    }
    scores[at] = score;
    positions[at] = position;
  }

  #replaceLowest(position: number, score: number): void {
    const scores = this.#scores;
    const positions = this.#positions;
    const length = this.#length;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (scores[right] ?? 0) < (scores[left] ?? 0) ? right : left;
      const below = scores[child] ?? 0;
      if (below >= score) break;
      scores[at] = below;
      positions[at] = positions[child] ?? 0;
      at = child;
    }
    scores[at] = score;
    positions[at] = position;
  }

  positions(): Int32Array {
    return this.#positions.slice(0, this.#length);
  }
}
