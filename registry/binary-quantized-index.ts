import { TwoBitCodes } from "./two-bit-codes.ts";
import { TopScores } from "./top-scores.ts";

// Vectors from the first this many rows set the mean each dimension's bit is taken against.
const MEAN_SAMPLE = 1_024;

/**
 * Embedding vectors kept as one bit per dimension (above the collection's mean or not): 96 bytes for 768
 * dimensions instead of 3 KiB, in one flat array of 32-bit words. A search scores every code against the query,
 * which stays in floats (the query's components over the dimensions whose bit is set, eight at a time through a
 * per-query table, four table reads per word), and hands back the best thousand or so positions; `refine` narrows
 * them by two-bit codes of the same vectors (`two-bit-codes.ts`) before the cosine re-rank. Scoring the float query
 * against the bits finds far more of the true neighbours than the Hamming distance between two codes would. Each
 * component is weighted by its dimension's spread (the mean of the sampled values above the mean less the mean of
 * those below): a bit then stands for the value it most likely had, so a dimension whose values vary widely counts
 * for more (at 100 000 tools, recall@10 of 2 500 candidates rose from 87 % to 93 % on the scripted server's embeddings).
 */
export class BinaryQuantizedIndex {
  readonly dimensions: number;
  readonly size: number;
  readonly #wordsPerCode: number;
  readonly #codes: Uint32Array;
  readonly #spread: Float32Array;
  #tableBuffer: Float32Array | undefined;
  readonly #twoBit: TwoBitCodes;
  #ones: Uint8Array | undefined;

  private constructor(dimensions: number, size: number, codes: Uint32Array, spread: Float32Array, twoBit: TwoBitCodes) {
    this.dimensions = dimensions;
    this.size = size;
    this.#wordsPerCode = Math.ceil(dimensions / 32);
    this.#codes = codes;
    this.#spread = spread;
    this.#twoBit = twoBit;
  }

  /**
   * Quantises `vectors` (each `dimensions` long, in order: position i is the i-th vector) to one bit and to two bits
   * a dimension, reading each once.
   */
  static build(vectors: Iterable<Float32Array>, size: number, dimensions: number): BinaryQuantizedIndex {
    const wordsPerCode = Math.ceil(dimensions / 32);
    const codes = new Uint32Array(size * wordsPerCode);
    const mean = new Float32Array(dimensions);
    const spread = new Float32Array(dimensions);
    const sample: Float32Array[] = [];
    let twoBit: TwoBitCodes | undefined;
    let position = 0;
    const encode = (vector: Float32Array) => {
      twoBit?.set(position, vector);
      const offset = position * wordsPerCode;
      for (let dimension = 0; dimension < dimensions; dimension += 1) {
        const at = offset + (dimension >>> 5);
        if ((vector[dimension] ?? 0) > (mean[dimension] ?? 0)) codes[at] = (codes[at] ?? 0) | (1 << (dimension & 31));
      }
      position += 1;
    };
    const settleMean = () => {
      for (const vector of sample)
        for (let dimension = 0; dimension < dimensions; dimension += 1) mean[dimension] = (mean[dimension] ?? 0) + (vector[dimension] ?? 0) / sample.length;
      spread.set(spreadOf(sample, mean));
      twoBit = TwoBitCodes.forSample(sample, size, dimensions);
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
    return new BinaryQuantizedIndex(dimensions, position, codes, spread, twoBit ?? TwoBitCodes.forSample([], 0, dimensions));
  }

  /**
   * The positions of the `count` codes that score best against `query`, in no particular order; all positions
   * (that `allowed` keeps: a mask whose non-zero entries are kept) when there are no more than `count`.
   */
  candidates(query: Float32Array, count: number, allowed?: Uint8Array): Int32Array {
    const table = this.#table(query);
    const words = this.#wordsPerCode;
    const codes = this.#codes;
    // Always a mask, never sometimes none: a loop that met both shapes ran 15 times slower once JSC had seen them.
    const mask = allowed ?? this.#everyPosition();
    const best = new TopScores(count);
    // Below this a score cannot enter the best: most codes stop at one comparison.
    let floor = Number.NEGATIVE_INFINITY;
    for (let position = 0; position < this.size; position += 1) {
      if (mask[position] === 0) continue;
      let score = 0;
      let at = position * words;
      for (let base = 0; base < table.length; base += 1024) {
        const word = codes[at] ?? 0;
        at += 1;
        score +=
          (table[base | (word & 255)] ?? 0) +
          (table[base | 256 | ((word >>> 8) & 255)] ?? 0) +
          (table[base | 512 | ((word >>> 16) & 255)] ?? 0) +
          (table[base | 768 | (word >>> 24)] ?? 0);
      }
      if (score > floor) floor = best.offer(position, score);
    }
    return best.positions();
  }

  /** The `count` of `positions` (from `candidates`) whose two-bit codes score best against `query`, in no particular order. */
  refine(query: Float32Array, positions: Int32Array, count: number): Int32Array {
    return this.#twoBit.best(query, positions, count);
  }

  #everyPosition(): Uint8Array {
    this.#ones ??= new Uint8Array(this.size).fill(1);
    return this.#ones;
  }

  /** table[b * 256 + v]: the sum of the query's components over the set bits of byte value v at byte b of a code. */
  #table(query: Float32Array): Float32Array {
    // Reused: a search fills every entry but each byte's 0, which stays 0, and no two searches run at once.
    this.#tableBuffer ??= new Float32Array(this.#wordsPerCode * 4 * 256);
    const table = this.#tableBuffer;
    for (let byte = 0; byte * 8 < this.dimensions; byte += 1) {
      const base = byte * 256;
      // Each value is a smaller value (its lowest set bit cleared) plus that bit's component: one add per entry.
      for (let value = 1; value < 256; value += 1) {
        const lowest = value & -value;
        const dimension = byte * 8 + 31 - Math.clz32(lowest);
        const weight = dimension < this.dimensions ? (query[dimension] ?? 0) * (this.#spread[dimension] ?? 0) : 0;
        table[base + value] = (table[base + (value ^ lowest)] ?? 0) + weight;
      }
    }
    return table;
  }
}

/** Per dimension: the mean of the sampled values above `mean` less the mean of those at or below it (0 when a side is empty). */
function spreadOf(sample: readonly Float32Array[], mean: Float32Array): Float32Array {
  const dimensions = mean.length;
  const sums = new Float64Array(dimensions * 2);
  const counts = new Uint32Array(dimensions * 2);
  for (const vector of sample) {
    for (let dimension = 0; dimension < dimensions; dimension += 1) {
      const value = vector[dimension] ?? 0;
      const side = value > (mean[dimension] ?? 0) ? 0 : dimensions;
      sums[side + dimension] = (sums[side + dimension] ?? 0) + value;
      counts[side + dimension] = (counts[side + dimension] ?? 0) + 1;
    }
  }
  return Float32Array.from(mean, (_, dimension) => {
    const above = counts[dimension] ?? 0;
    const below = counts[dimensions + dimension] ?? 0;
    if (above === 0 || below === 0) return 0;
    return (sums[dimension] ?? 0) / above - (sums[dimensions + dimension] ?? 0) / below;
  });
}
