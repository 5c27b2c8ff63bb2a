import { expect, test } from "bun:test";
import { fakeEmbedding } from "../scripted-server/embeddings.ts";
import { TwoBitCodes } from "./two-bit-codes.ts";

// The scripted server's embeddings of tool-like texts, as bench:registry indexes them.
const VERBS = "count parse convert format sort split merge hash encode decode validate extract".split(" ");
const NOUNS = "words lines json csv url email date temperature currency text numbers markdown".split(" ");
const texts = Array.from(
  { length: 1_500 },
  (_, index) =>
    `search_document: ${VERBS[index % VERBS.length]}_${NOUNS[(index * 7) % NOUNS.length]}_${index} ${VERBS[(index * 5) % VERBS.length]}s ${NOUNS[(index * 3) % NOUNS.length]} into ${NOUNS[(index * 11) % NOUNS.length]}`,
);
const vectors = texts.map((text) => Float32Array.from(fakeEmbedding(text)));
const queries = ["parse csv", "convert the temperature", "count words in a text", "validate an email address"].map((query) =>
  Float32Array.from(fakeEmbedding(`search_query: ${query}`)),
);
const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);

function built(sample: readonly Float32Array[]): TwoBitCodes {
  const codes = TwoBitCodes.forSample(sample, vectors.length, 768);
  for (const [position, vector] of vectors.entries()) codes.set(position, vector);
  return codes;
}

test("values of four kinds per dimension are coded exactly: the dot products are the exact ones", () => {
  let state = 5;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const kinds = [-0.3, -0.1, 0.1, 0.3];
  const fourKinds = Array.from({ length: 400 }, () => Float32Array.from({ length: 30 }, () => kinds[Math.floor(next() * 4)] ?? 0));
  const codes = TwoBitCodes.forSample(fourKinds, fourKinds.length, 30);
  for (const [position, vector] of fourKinds.entries()) codes.set(position, vector);
  const every = Int32Array.from(fourKinds.keys());
  for (const query of [fourKinds[0], fourKinds[7], Float32Array.from({ length: 30 }, (_, index) => index - 15)] as Float32Array[]) {
    const scores = codes.dots(query, every);
    for (const [position, vector] of fourKinds.entries()) expect(scores[position]).toBeCloseTo(dot(query, vector), 4);
  }
});

test("best keeps exactly the positions whose codes score highest, and they hold the true nearest by cosine", () => {
  // Sampled from the first 256 only, as the index samples a prefix.
  const codes = built(vectors.slice(0, 256));
  const every = Int32Array.from(vectors.keys());
  for (const query of queries) {
    const kept = [...codes.best(query, every, 300)];
    expect(new Set(kept).size).toBe(300);
    const scores = codes.dots(query, every);
    const cut = [...scores].sort((a, b) => b - a)[299] ?? 0;
    // Every kept code scores at least the 300th best; every code left out at most that.
    const keptSet = new Set(kept);
    for (const position of every) {
      if (keptSet.has(position)) expect(scores[position]).toBeGreaterThanOrEqual(cut);
      else expect(scores[position]).toBeLessThanOrEqual(cut);
    }
    // Brute force over the float vectors: its top 10 (within about 0.01 of each other here) are among the 300.
    const cosine = vectors.map((vector) => dot(query, vector));
    const exact = [...every].sort((a, b) => (cosine[b] ?? 0) - (cosine[a] ?? 0)).slice(0, 10);
    for (const position of exact) expect(keptSet.has(position)).toBe(true);
  }
  // Fewer positions than asked for: all of them, as given.
  const few = Int32Array.from([5, 3, 9]);
  expect(codes.best(queries[0] as Float32Array, few, 10)).toEqual(few);
});

test("a dimension that never varies in the sample, and an empty sample, give codes that score without NaN", () => {
  const flat = TwoBitCodes.forSample([new Float32Array(8).fill(0.5)], 2, 8);
  flat.set(0, Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]));
  expect(flat.dots(new Float32Array(8).fill(1), Int32Array.of(0))[0]).toBeCloseTo(4, 5);
  const empty = TwoBitCodes.forSample([], 1, 5);
  empty.set(0, new Float32Array(5).fill(0.3));
  expect(empty.dots(new Float32Array(5).fill(1), Int32Array.of(0))[0]).toBe(0);
});
