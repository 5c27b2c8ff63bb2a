// Vectors from the first this many rows set the mean each dimension's bit is taken against.
const MEAN_SAMPLE = 1_024;

/**
 * Embedding vectors kept as one bit per dimension (above the collection's mean or not): 96 bytes for 768
 * dimensions instead of 3 KiB. A search scores every code against the query, which stays in floats (the
 * query's components summed over the dimensions whose bit is set, eight at a time through a per-query table),
 * and hands back the best thousand or so positions for a cosine re-rank. Scoring the float query against
 * the bits finds far more of the true neighbours than the Hamming distance between two codes would.
 */
export class BinaryQuantizedIndex {
  readonly dimensions: number;
  readonly size: number;
  readonly #bytesPerCode: number;
  readonly #codes: Uint8Array;

  private constructor(dimensions: number, size: number, codes: Uint8Array) {
    this.dimensions = dimensions;
    this.size = size;
    this.#bytesPerCode = Math.ceil(dimensions / 8);
    this.#codes = codes;
  }

  /** Quantises `vectors` (each `dimensions` long, in order: position i is the i-th vector), reading each once. */
  static build(vectors: Iterable<Float32Array>, size: number, dimensions: number): BinaryQuantizedIndex {
    const bytesPerCode = Math.ceil(dimensions / 8);
    const codes = new Uint8Array(size * bytesPerCode);
    const mean = new Float32Array(dimensions);
    const sample: Float32Array[] = [];
    let position = 0;
    const encode = (vector: Float32Array) => {
      const offset = position * bytesPerCode;
      for (let dimension = 0; dimension < dimensions; dimension += 1) {
        if ((vector[dimension] as number) > (mean[dimension] as number)) {
          const at = offset + (dimension >>> 3);
          codes[at] = (codes[at] as number) | (1 << (dimension & 7));
        }
      }
      position += 1;
    };
    const settleMean = () => {
      for (const vector of sample)
        for (let dimension = 0; dimension < dimensions; dimension += 1)
          mean[dimension] = (mean[dimension] as number) + (vector[dimension] as number) / sample.length;
      for (const vector of sample.splice(0)) encode(vector);
    };
    for (const vector of vectors) {
      if (position + sample.length >= size) break;
      if (vector.length !== dimensions) throw new RangeError(`a vector of ${vector.length} dimensions in an index of ${dimensions}`);
      if (position === 0 && sample.length < MEAN_SAMPLE) {
        sample.push(vector);
        if (sample.length === MEAN_SAMPLE) settleMean();
      } else encode(vector);
    }
    if (sample.length > 0) settleMean();
    return new BinaryQuantizedIndex(dimensions, position, codes);
  }

  /**
   * The positions of the `count` codes that score best against `query`, in no particular order; all positions
   * (that `allowed` keeps) when there are no more than `count`.
   */
  candidates(query: Float32Array, count: number, allowed?: (position: number) => boolean): Int32Array {
    const bytes = this.#bytesPerCode;
    // table[b * 256 + v]: the sum of the query's components over the set bits of byte value v at byte b.
    const table = new Float32Array(bytes * 256);
    for (let byte = 0; byte < bytes; byte += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const dimension = byte * 8 + bit;
        if (dimension >= this.dimensions) break;
        const weight = query[dimension] as number;
        const step = 1 << bit;
        const base = byte * 256;
        for (let value = step; value < 256; value = (value + 1) | step) table[base + value] = (table[base + value] as number) + weight;
      }
    }
    const heap = new TopScores(count);
    const codes = this.#codes;
    for (let position = 0; position < this.size; position += 1) {
      if (allowed && !allowed(position)) continue;
      const offset = position * bytes;
      let score = 0;
      for (let byte = 0; byte < bytes; byte += 1) score += table[(byte << 8) | (codes[offset + byte] as number)] as number;
      heap.offer(position, score);
    }
    return heap.positions();
  }
}

/** The `capacity` best-scoring positions seen, kept as a min-heap on score. */
class TopScores {
  readonly #scores: Float64Array;
  readonly #positions: Int32Array;
  #length = 0;

  constructor(readonly capacity: number) {
    this.#scores = new Float64Array(Math.max(0, capacity));
    this.#positions = new Int32Array(Math.max(0, capacity));
  }

  offer(position: number, score: number): void {
    if (this.capacity <= 0) return;
    const scores = this.#scores;
    const positions = this.#positions;
    if (this.#length < this.capacity) {
      let at = this.#length;
      this.#length += 1;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if ((scores[parent] as number) <= score) break;
        scores[at] = scores[parent] as number;
        positions[at] = positions[parent] as number;
        at = parent;
      }
      scores[at] = score;
      positions[at] = position;
      return;
    }
    if (score <= (scores[0] as number)) return;
    let at = 0;
    const length = this.#length;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (scores[right] as number) < (scores[left] as number) ? right : left;
      if ((scores[child] as number) >= score) break;
      scores[at] = scores[child] as number;
      positions[at] = positions[child] as number;
      at = child;
    }
    scores[at] = score;
    positions[at] = position;
  }

  positions(): Int32Array {
    return this.#positions.slice(0, this.#length);
  }
}
