import type { Database } from "bun:sqlite";
import { TwoBitCodes } from "./two-bit-codes.ts";

/**
 * Every half-precision bit pattern as a float32: a re-rank reads each component through this table, about three times
 * faster than an element read or a bulk copy out of a Float16Array, and to the same value. Made once per matrix.
 */
function halfTable(): Float32Array {
  const bits = new Uint16Array(65_536);
  for (let pattern = 0; pattern < bits.length; pattern += 1) bits[pattern] = pattern;
  return new Float32Array(new Float16Array(bits.buffer));
}

/**
 * How many tools the two-bit codes pass to the cosine re-rank among `size`, for `limit` results: every one up to 1 000
 * tools, past that one in 200 and at least four times `limit` (bench:registry prints the recall against brute force: on
 * the scripted server's embeddings, 500 of 100 000 kept 99 % of the true top 10).
 */
export function rerankCount(size: number, limit: number): number {
  return size <= 1_000 ? size : Math.max(4 * limit, Math.ceil(size / 200));
}

/**
 * The cached document vectors of one embedder, in flat typed arrays: tool ids, whether each is promoted, the
 * vectors in half precision (to within about 1e-3 of float32, half the memory: 150 MiB at 100 000 tools; reading
 * float32 back from sqlite per search cost more than the whole pick) and their two-bit codes, which pick the
 * candidates the half-precision vectors then decide among. Built by streaming the rows once: no second copy.
 */
export class VectorMatrix {
  readonly model: string;
  readonly dimensions: number;
  readonly #ids: Int32Array;
  readonly #promoted: Uint8Array;
  readonly #halves: Uint16Array;
  readonly #codes: TwoBitCodes;
  readonly #halfToFloat = halfTable();

  private constructor(model: string, dimensions: number, ids: Int32Array, promoted: Uint8Array, halves: Uint16Array, codes: TwoBitCodes) {
    this.model = model;
    this.dimensions = dimensions;
    this.#ids = ids;
    this.#promoted = promoted;
    this.#halves = halves;
    this.#codes = codes;
  }

  /** How many tools have a vector. */
  get size(): number {
    return this.#codes.size;
  }

  /** Reads every indexed tool's cached vector for `model` (rows of another length than the longest are left out). */
  static load(database: Database, model: string): VectorMatrix {
    const join = "FROM tools JOIN embeddings ON embeddings.hash = tools.embed_hash AND embeddings.model = ?";
    const first = database
      .query<{ bytes: number; count: number }, [string]>(`SELECT max(length(embeddings.vector)) AS bytes, count(*) AS count ${join}`)
      .get(model);
    const dimensions = Math.floor((first?.bytes ?? 0) / 4);
    const capacity = first?.count ?? 0;
    const ids = new Int32Array(capacity);
    const promoted = new Uint8Array(capacity);
    const halves = new Uint16Array(capacity * dimensions);
    // Written through a half-precision view of the same memory: float32 rounds to the nearest half on the way in.
    const writer = new Float16Array(halves.buffer);
    const rows = database.query<{ id: number; origin: string; vector: Uint8Array }, [string]>(
      `SELECT tools.id AS id, tools.origin AS origin, embeddings.vector AS vector ${join}`,
    );
    let count = 0;
    function* copied(): Generator<Float32Array> {
      for (const row of rows.iterate(model)) {
        if (count >= capacity) break;
        if (row.vector.byteLength !== dimensions * 4) continue;
        ids[count] = row.id;
        promoted[count] = row.origin === "promoted" ? 1 : 0;
        const vector = floatsOf(row.vector, dimensions);
        writer.set(vector, count * dimensions);
        count += 1;
        yield vector;
      }
    }
    const codes = TwoBitCodes.build(copied(), capacity, dimensions);
    const size = codes.size;
    return new VectorMatrix(model, dimensions, ids.subarray(0, size), promoted.subarray(0, size), halves.subarray(0, size * dimensions), codes);
  }

  /**
   * The `limit` tools nearest `unit` (a unit vector of `dimensions`) by cosine, best first, ties to the lower id: the
   * two-bit codes of every tool pick `rerank` of them (all when there are no more), whose half-precision vectors then
   * decide.
   */
  nearest(unit: Float32Array, limit: number, rerank: number, promotedOnly: boolean): { id: number; score: number }[] {
    const positions = this.#codes.best(unit, Math.max(limit, rerank), promotedOnly ? this.#promoted : undefined);
    const best = new BestFirst(limit);
    for (const position of positions) best.offer(this.#ids[position] ?? 0, this.#cosine(position, unit));
    return best.hits();
  }

  /** The dot product of the vector at `position` with `unit`, four components at a time. */
  #cosine(position: number, unit: Float32Array): number {
    const table = this.#halfToFloat;
    const halves = this.#halves;
    const length = this.dimensions;
    const offset = position * length;
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    let column = 0;
    for (; column + 4 <= length; column += 4) {
      const at = offset + column;
      a += (table[halves[at] ?? 0] ?? 0) * (unit[column] ?? 0);
      b += (table[halves[at + 1] ?? 0] ?? 0) * (unit[column + 1] ?? 0);
      c += (table[halves[at + 2] ?? 0] ?? 0) * (unit[column + 2] ?? 0);
      d += (table[halves[at + 3] ?? 0] ?? 0) * (unit[column + 3] ?? 0);
    }
    for (; column < length; column += 1) a += (table[halves[offset + column] ?? 0] ?? 0) * (unit[column] ?? 0);
    return a + b + c + d;
  }
}

/** The best `limit` of (id, score) pairs offered, kept sorted: higher score first, the lower id on a tie. */
class BestFirst {
  readonly #kept: { id: number; score: number }[] = [];

  constructor(readonly limit: number) {}

  offer(id: number, score: number): void {
    const kept = this.#kept;
    const last = kept[kept.length - 1];
    if (kept.length >= this.limit && (!last || !before(id, score, last))) return;
    let at = kept.length;
    while (at > 0) {
      const above = kept[at - 1];
      if (!above || !before(id, score, above)) break;
      at -= 1;
    }
    kept.splice(at, 0, { id, score });
    if (kept.length > this.limit) kept.pop();
  }

  hits(): { id: number; score: number }[] {
    return this.#kept;
  }
}

const before = (id: number, score: number, other: { id: number; score: number }) => score > other.score || (score === other.score && id < other.id);

/** The little-endian float32s of a stored vector, copied only when the bytes do not start on a 4-byte boundary. */
function floatsOf(bytes: Uint8Array, dimensions: number): Float32Array {
  return bytes.byteOffset % 4 === 0
    ? new Float32Array(bytes.buffer, bytes.byteOffset, dimensions)
    : new Float32Array(bytes.slice().buffer, 0, dimensions);
}
