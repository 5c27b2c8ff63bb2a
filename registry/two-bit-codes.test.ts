import { expect, test } from "bun:test";
import { fakeEmbedding } from "../scripted-server/embeddings.ts";
import { seededFractions } from "../testing/seeded-random.ts";
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
const every = Int32Array.from(vectors.keys());
// The codes of all 1 500, built once for the tests that only read them: a build of 768 dimensions is most of this file's CPU.
let allCodes: TwoBitCodes | undefined;
const codesOfAll = () => {
  allCodes ??= TwoBitCodes.build(vectors, vectors.length, 768);
  return allCodes;
};

// A fixed pseudo-random sequence in [-0.5, 0.5) so each test is the same on every run.
function generator(seed: number) {
  const fraction = seededFractions(seed);
  return () => fraction() - 0.5;
}

function unit(values: Iterable<number>): Float32Array {
  const vector = Float32Array.from(values);
  const norm = Math.sqrt(dot(vector, vector)) || 1;
  return vector.map((value) => value / norm);
}

test("values of four kinds per dimension are coded exactly: the dot products are the exact ones", () => {
  const random = generator(5);
  const kinds = [-0.3, -0.1, 0.1, 0.3];
  // 31 dimensions: the last nibble holds one dimension.
  const fourKinds = Array.from({ length: 400 }, () => Float32Array.from({ length: 31 }, () => kinds[Math.floor((random() + 0.5) * 4)] ?? 0));
  const codes = TwoBitCodes.build(fourKinds, fourKinds.length, 31);
  expect(codes.size).toBe(400);
  const all = Int32Array.from(fourKinds.keys());
  for (const query of [fourKinds[0], fourKinds[7], Float32Array.from({ length: 31 }, (_, index) => index - 15)] as Float32Array[]) {
    const scores = codes.dots(query, all);
    for (const [position, vector] of fourKinds.entries()) expect(scores[position]).toBeCloseTo(dot(query, vector), 4);
  }
});

test("a build reads every vector, past the sample that sets the levels, up to the capacity, and refuses a vector of another length", () => {
  const codes = codesOfAll();
  expect(codes.size).toBe(1_500);
  // The same codes as levels from the first 1 024 vectors and every vector set one by one.
  const byHand = TwoBitCodes.forSample(vectors.slice(0, 1_024), vectors.length, 768);
  for (const [position, vector] of vectors.entries()) byHand.set(position, vector);
  expect(codes.dots(queries[0] as Float32Array, every)).toEqual(byHand.dots(queries[0] as Float32Array, every));
  // The capacity past the sample, in 8 dimensions: the same path at a 96th of the levels' cost.
  const narrow = vectors.map((vector) => vector.slice(0, 8));
  expect(TwoBitCodes.build(narrow, 1_200, 8).size).toBe(1_200);
  expect(TwoBitCodes.build(narrow.slice(0, 10), 1_200, 8).size).toBe(10);
  expect(() => TwoBitCodes.build([new Float32Array(5)], 1, 20)).toThrow(RangeError);
  expect(() => byHand.set(1_500, vectors[0] as Float32Array)).toThrow(RangeError);
});

test("the rounded scores follow the exact dot products: rounding errors add up like noise, not like a lost dimension", () => {
  const codes = codesOfAll();
  const nibbles = 384;
  for (const query of queries) {
    const exact = codes.dots(query, every);
    const { scores, step } = codes.scores(query);
    const rounded = Array.from(scores);
    expect(rounded).toHaveLength(1_500);
    expect(Math.max(...rounded)).toBeLessThanOrEqual(65_535);
    // Each score is the exact dot product shifted by a constant and scaled by the step. Each nibble's table entry is
    // rounded by at most half a step, so nibbles / 2 steps bound a score's error; but those roundings are independent,
    // so their sum stays near sqrt(nibbles / 12) steps (about 6 here; 14 at worst over these vectors). A bound of
    // 4 * sqrt(nibbles) steps (78) holds with room, and a table that lost a dimension's values (hundreds) breaks it.
    const shift = (exact[0] ?? 0) - (rounded[0] ?? 0) * step;
    const bound = 4 * Math.sqrt(nibbles) * step;
    for (const position of every) expect(Math.abs((exact[position] ?? 0) - (rounded[position] ?? 0) * step - shift)).toBeLessThanOrEqual(bound);
  }
});

test("best keeps exactly the best-scoring positions, ties to the lower, in order, and they hold the true nearest by cosine", () => {
  // Levels sampled from the first 256 only.
  const codes = TwoBitCodes.forSample(vectors.slice(0, 256), vectors.length, 768);
  for (const [position, vector] of vectors.entries()) codes.set(position, vector);
  for (const query of queries) {
    const kept = [...codes.best(query, 300)];
    expect(kept).toHaveLength(300);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    const scores = Array.from(codes.scores(query).scores);
    const expected = [...every].sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || a - b).slice(0, 300);
    expect(kept).toEqual(expected.sort((a, b) => a - b));
    // Brute force over the float vectors: its top 10 (within about 0.01 of each other here) are among the 300.
    const cosine = vectors.map((vector) => dot(query, vector));
    const exact = [...every].sort((a, b) => (cosine[b] ?? 0) - (cosine[a] ?? 0)).slice(0, 10);
    for (const position of exact) expect(kept).toContain(position);
  }
  // No more codes than asked for: every position, without a scan.
  expect([...codes.best(queries[0] as Float32Array, 2_000)]).toEqual([...every]);
  // A mask keeps only its non-zero positions, before the count is taken.
  const even = Uint8Array.from(every, (position) => (position % 2 === 0 ? 1 : 0));
  const evenKept = [...codes.best(queries[0] as Float32Array, 50, even)];
  expect(evenKept).toHaveLength(50);
  expect(evenKept.every((position) => position % 2 === 0)).toBe(true);
  expect([...codes.best(queries[0] as Float32Array, 2_000, even)]).toEqual([...every].filter((position) => position % 2 === 0));
});

test("the WebAssembly SIMD scan and the JavaScript loop pick the same codes", () => {
  const simd = TwoBitCodes.build(vectors.slice(0, 1_111), 1_111, 768);
  const plain = TwoBitCodes.build(vectors.slice(0, 1_111), 1_111, 768, { simd: false });
  expect(simd.simd).toBe(true);
  expect(plain.simd).toBe(false);
  for (const query of queries) {
    expect(Array.from(simd.scores(query).scores)).toEqual(Array.from(plain.scores(query).scores));
    expect(simd.best(query, 100)).toEqual(plain.best(query, 100));
  }
});

test("ten planted near neighbours among 5 000 vectors that all lean one way are the codes' best 50, and the cosine re-rank puts them first", () => {
  const dimensions = 96;
  const random = generator(7);
  // Every vector leans the same way (a shared offset), as real embeddings do.
  const offset = Array.from({ length: dimensions }, () => random() * 0.6);
  const query = unit(offset.map((value) => value + random()));
  const planted = new Set<number>();
  const corpus = Array.from({ length: 5_000 }, (_, position) => {
    if (position % 500 !== 250) return unit(offset.map((value) => value + random()));
    planted.add(position);
    return unit(Array.from(query, (value) => value + random() * 0.05));
  });
  const codes = TwoBitCodes.build(corpus, corpus.length, dimensions);
  const picked = [...codes.best(query, 50)];
  for (const position of planted) expect(picked).toContain(position);
  const reranked = picked.map((position) => ({ position, score: dot(corpus[position] as Float32Array, query) })).sort((a, b) => b.score - a.score);
  const bruteForce = corpus.map((vector, position) => ({ position, score: dot(vector, query) })).sort((a, b) => b.score - a.score);
  expect(reranked.slice(0, 10).map((hit) => hit.position)).toEqual(bruteForce.slice(0, 10).map((hit) => hit.position));
  expect(new Set(reranked.slice(0, 10).map((hit) => hit.position))).toEqual(planted);
});

test("a dimension that never varies in the sample, an empty sample and an all-zero query give codes that score without NaN", () => {
  const flat = TwoBitCodes.forSample([new Float32Array(8).fill(0.5)], 2, 8);
  flat.set(0, Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]));
  expect(flat.dots(new Float32Array(8).fill(1), Int32Array.of(0))[0]).toBeCloseTo(4, 5);
  const empty = TwoBitCodes.forSample([], 1, 5);
  empty.set(0, new Float32Array(5).fill(0.3));
  expect(empty.dots(new Float32Array(5).fill(1), Int32Array.of(0))[0]).toBe(0);
  const codes = codesOfAll();
  const zero = new Float32Array(768);
  expect(Array.from(codes.scores(zero).scores).every((score) => score === 0)).toBe(true);
  expect([...codes.best(zero, 5)]).toEqual([0, 1, 2, 3, 4]);
});
