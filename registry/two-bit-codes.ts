import { NibbleScan } from "./nibble-scan.ts";

const LEVELS = 4;
// Vectors from the first this many rows set each dimension's four values.
const SAMPLE = 1_024;
// A score is a sum of one table byte per nibble, held in 16 bits.
const SCORE_LIMIT = 65_535;

/**
 * Embedding vectors kept as two bits per dimension (two dimensions a nibble: 192 bytes for 768 dimensions): each value
 * as the nearest of four that its dimension's values in a sample are best told by (least squared error, Lloyd's
 * iterations). A search scores every code against the float query, whose part for each nibble's 16 values is rounded
 * to a byte (one common step, so that no sum passes 16 bits), with `nibble-scan.ts`'s WebAssembly SIMD loop, and the
 * best few hundred codes go to the half-precision cosine re-rank. Measured at 100 000 tools on the scripted server's
 * embeddings: the best 500 by these codes hold 99 % of the true top 10, where the one-bit codes' best 5 000 narrowed to
 * 500 by these codes held 98 %; rounding the query to bytes lost none of it. On clustered Gaussian vectors four values
 * found by Lloyd's iterations kept 99.0 % against 98.3 % for four equal steps over each dimension's range.
 */
export class TwoBitCodes {
  readonly dimensions: number;
  readonly #scan: NibbleScan;
  // Per dimension: three boundaries between the four levels, and each level's value.
  readonly #bounds: Float32Array;
  readonly #values: Float32Array;
  #size = 0;
  // One of each per index, filled per search: no search allocates them.
  readonly #parts: Float64Array;
  #histogram: Uint32Array | undefined;
  #everyPosition: Uint8Array | undefined;

  private constructor(dimensions: number, capacity: number, bounds: Float32Array, values: Float32Array, options: { simd?: boolean }) {
    this.dimensions = dimensions;
    const nibbles = Math.ceil(dimensions / 2);
    // Below this the rounding could carry a sum past 16 bits (see #fillTable).
    if (nibbles > SCORE_LIMIT / 2) throw new RangeError(`two-bit codes of ${dimensions} dimensions would overflow their 16-bit scores`);
    this.#scan = new NibbleScan(capacity, nibbles, options);
    this.#bounds = bounds;
    this.#values = values;
    this.#parts = new Float64Array(nibbles * 16);
  }

  /** How many codes are set: positions 0 to size - 1. */
  get size(): number {
    return this.#size;
  }

  /** Whether searches run the WebAssembly SIMD loop. */
  get simd(): boolean {
    return this.#scan.simd;
  }

  /**
   * Codes of `vectors` (each `dimensions` long, in order: position i is the i-th), at most `capacity` of them, each
   * dimension's four values found from the first 1 024; every vector is read once.
   */
  static build(vectors: Iterable<Float32Array>, capacity: number, dimensions: number, options: { simd?: boolean } = {}): TwoBitCodes {
    const sample: Float32Array[] = [];
    let codes: TwoBitCodes | undefined;
    for (const vector of vectors) {
      if ((codes ? codes.size : sample.length) >= capacity) break;
      if (vector.length !== dimensions) throw new RangeError(`a vector of ${vector.length} dimensions among codes of ${dimensions}`);
      if (codes) codes.set(codes.size, vector);
      else {
        sample.push(vector);
        if (sample.length === SAMPLE) codes = TwoBitCodes.#fromSample(sample, capacity, dimensions, options);
      }
    }
    return codes ?? TwoBitCodes.#fromSample(sample, capacity, dimensions, options);
  }

  static #fromSample(sample: readonly Float32Array[], capacity: number, dimensions: number, options: { simd?: boolean }): TwoBitCodes {
    const codes = TwoBitCodes.forSample(sample, capacity, dimensions, options);
    for (const vector of sample) codes.set(codes.size, vector);
    return codes;
  }

  /** Room for `capacity` codes, each dimension's four values found from its values in `sample`. */
  static forSample(sample: readonly Float32Array[], capacity: number, dimensions: number, options: { simd?: boolean } = {}): TwoBitCodes {
    const bounds = new Float32Array(dimensions * (LEVELS - 1));
    const values = new Float32Array(dimensions * LEVELS);
    const column = new Float64Array(sample.length);
    for (let dimension = 0; dimension < dimensions; dimension += 1) {
      for (const [index, vector] of sample.entries()) column[index] = vector[dimension] ?? 0;
      const levels = lloydMax(column);
      for (let level = 0; level < LEVELS; level += 1) values[dimension * LEVELS + level] = levels[level] ?? 0;
      for (let level = 0; level + 1 < LEVELS; level += 1)
        bounds[dimension * (LEVELS - 1) + level] = ((levels[level] ?? 0) + (levels[level + 1] ?? 0)) / 2;
    }
    return new TwoBitCodes(dimensions, capacity, bounds, values, options);
  }

  /** Stores `vector`'s code at `position` (below the capacity); the codes then reach at least that far. */
  set(position: number, vector: Float32Array): void {
    if (position >= this.#scan.size) throw new RangeError(`position ${position} past the ${this.#scan.size} codes made room for`);
    for (let dimension = 0; dimension < this.dimensions; dimension += 2) {
      const second = dimension + 1 < this.dimensions ? this.#level(dimension + 1, vector[dimension + 1] ?? 0) : 0;
      this.#scan.set(position, dimension >>> 1, this.#level(dimension, vector[dimension] ?? 0) | (second << 2));
    }
    this.#size = Math.max(this.#size, position + 1);
  }

  /** The dot product of `query` with the vector each code at `positions` stands for. */
  dots(query: Float32Array, positions: Int32Array): Float64Array {
    return Float64Array.from(positions, (position) => {
      let sum = 0;
      for (let dimension = 0; dimension < this.dimensions; dimension += 1) {
        const level = (this.#scan.get(position, dimension >>> 1) >>> (2 * (dimension & 1))) & 3;
        sum += (query[dimension] ?? 0) * (this.#values[dimension * LEVELS + level] ?? 0);
      }
      return sum;
    });
  }

  /**
   * Every code's score against `query`: the dot product with the query rounded to bytes, shifted and scaled (so only
   * the order means anything), within `nibbles / 2` steps of the exact one. A view valid until the next search.
   */
  scores(query: Float32Array): { scores: Uint16Array; step: number } {
    const step = this.#fillTable(query);
    return { scores: this.#scan.scan().subarray(0, this.#size), step };
  }

  /**
   * The positions of the `count` codes that score best against `query` (`scores`), ties to the lower position, in
   * increasing order; every position (that `allowed` keeps: a mask whose non-zero entries are kept) when there are
   * no more than `count`.
   */
  best(query: Float32Array, count: number, allowed?: Uint8Array): Int32Array {
    // Always a mask, never sometimes none: a loop that met both shapes ran 15 times slower once JSC had seen them.
    this.#everyPosition ??= new Uint8Array(this.#scan.size).fill(1);
    const mask = allowed ?? this.#everyPosition;
    const size = this.#size;
    if (size <= count) {
      const every: number[] = [];
      for (let position = 0; position < size; position += 1) if (mask[position] !== 0) every.push(position);
      return Int32Array.from(every);
    }
    const { scores } = this.scores(query);
    // How many codes score each value; from the top down, the value at which `count` are reached.
    this.#histogram ??= new Uint32Array(SCORE_LIMIT + 1);
    const histogram = this.#histogram;
    histogram.fill(0);
    for (let position = 0; position < size; position += 1) {
      if (mask[position] === 0) continue;
      const score = scores[position] ?? 0;
      histogram[score] = (histogram[score] ?? 0) + 1;
    }
    let cut = SCORE_LIMIT;
    let above = 0;
    for (; cut > 0; cut -= 1) {
      const here = histogram[cut] ?? 0;
      if (above + here >= count) break;
      above += here;
    }
    let ties = Math.min(count - above, histogram[cut] ?? 0);
    const kept = new Int32Array(above + ties);
    let next = 0;
    for (let position = 0; position < size; position += 1) {
      if (mask[position] === 0) continue;
      const score = scores[position] ?? 0;
      if (score > cut) kept[next++] = position;
      else if (score === cut && ties > 0) {
        kept[next++] = position;
        ties -= 1;
      }
    }
    return kept;
  }

  #level(dimension: number, value: number): number {
    const at = dimension * (LEVELS - 1);
    const bounds = this.#bounds;
    return (value > (bounds[at] ?? 0) ? 1 : 0) + (value > (bounds[at + 1] ?? 0) ? 1 : 0) + (value > (bounds[at + 2] ?? 0) ? 1 : 0);
  }

  /**
   * Fills the scan's table for `query`: entry `j * 16 + v` is the query's part of the dot product for dimensions 2j and
   * 2j + 1 at levels v & 3 and v >> 2, less the nibble's least part, divided by a step and rounded to a byte. The step
   * is the larger of the widest nibble's range / 255 (every entry a byte) and the ranges' sum / (65 535 - nibbles): a
   * code's sum then stays under 65 535 even with every entry rounded up. Returns the step.
   */
  #fillTable(query: Float32Array): number {
    const parts = this.#parts;
    const values = this.#values;
    const dimensions = this.dimensions;
    const nibbles = this.#scan.nibbles;
    let widest = 0;
    let total = 0;
    for (let nibble = 0; nibble < nibbles; nibble += 1) {
      const first = 2 * nibble;
      const second = first + 1;
      const q0 = query[first] ?? 0;
      const q1 = second < dimensions ? (query[second] ?? 0) : 0;
      let least = Number.POSITIVE_INFINITY;
      let most = Number.NEGATIVE_INFINITY;
      for (let value = 0; value < 16; value += 1) {
        const part = q0 * (values[first * LEVELS + (value & 3)] ?? 0) + q1 * (values[second * LEVELS + (value >>> 2)] ?? 0);
        parts[nibble * 16 + value] = part;
        least = Math.min(least, part);
        most = Math.max(most, part);
      }
      for (let value = 0; value < 16; value += 1) parts[nibble * 16 + value] = (parts[nibble * 16 + value] ?? 0) - least;
      widest = Math.max(widest, most - least);
      total += most - least;
    }
    const step = Math.max(widest / 255, total / (SCORE_LIMIT - nibbles)) || 1;
    const table = this.#scan.table;
    for (let entry = 0; entry < table.length; entry += 1) table[entry] = Math.round((parts[entry] ?? 0) / step);
    return step;
  }
}

/**
 * Four values that stand for `sample` with the least squared error, found by Lloyd's iterations from four equal steps
 * over its range: each value the mean of the sampled values nearest it. Four equal zeros for an empty sample.
 */
function lloydMax(sample: Float64Array): Float64Array {
  const levels = new Float64Array(LEVELS);
  if (sample.length === 0) return levels;
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const value of sample) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  for (let level = 0; level < LEVELS; level += 1) levels[level] = low + ((level + 0.5) * (high - low)) / LEVELS;
  const sums = new Float64Array(LEVELS);
  const counts = new Float64Array(LEVELS);
  for (let round = 0; round < 20; round += 1) {
    sums.fill(0);
    counts.fill(0);
    for (const value of sample) {
      let level = 0;
      while (level + 1 < LEVELS && value > ((levels[level] ?? 0) + (levels[level + 1] ?? 0)) / 2) level += 1;
      sums[level] = (sums[level] ?? 0) + value;
      counts[level] = (counts[level] ?? 0) + 1;
    }
    for (let level = 0; level < LEVELS; level += 1) if ((counts[level] ?? 0) > 0) levels[level] = (sums[level] ?? 0) / (counts[level] ?? 1);
    // A level left empty keeps its value, which need not stay between its neighbours' new ones.
    levels.sort();
  }
  return levels;
}
