import { expect, test } from "bun:test";
import { BinaryQuantizedIndex } from "./binary-quantized-index.ts";

// A fixed pseudo-random sequence so the test is the same on every run.
function generator(seed: number) {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
}

function unit(values: number[]): Float32Array {
  const norm = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0)) || 1;
  return Float32Array.from(values, (value) => value / norm);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, index) => sum + value * (b[index] as number), 0);

test("the one-bit codes pick the planted nearest neighbours out of thousands for the exact re-rank", () => {
  const dimensions = 96;
  const random = generator(7);
  // Every vector leans the same way (a shared offset), as real embeddings do: the bits are taken against the mean.
  const offset = Array.from({ length: dimensions }, () => random() * 0.6);
  const query = unit(Array.from({ length: dimensions }, (_, index) => (offset[index] as number) + random()));
  const vectors: Float32Array[] = [];
  const planted = new Set<number>();
  for (let position = 0; position < 5_000; position += 1) {
    if (position % 500 === 250) {
      planted.add(position);
      vectors.push(unit(Array.from(query, (value) => value + random() * 0.05)));
    } else vectors.push(unit(Array.from({ length: dimensions }, (_, index) => (offset[index] as number) + random())));
  }
  const index = BinaryQuantizedIndex.build(vectors, vectors.length, dimensions);
  expect(index.size).toBe(5_000);
  const picked = [...index.candidates(query, 50)];
  expect(picked).toHaveLength(50);
  for (const position of planted) expect(picked).toContain(position);
  // The exact re-rank of the candidates then puts the planted ten first, as brute force over all would.
  const bruteForce = vectors.map((vector, position) => ({ position, score: dot(vector, query) })).sort((a, b) => b.score - a.score);
  const reranked = picked.map((position) => ({ position, score: dot(vectors[position] as Float32Array, query) })).sort((a, b) => b.score - a.score);
  expect(reranked.slice(0, 10).map((hit) => hit.position)).toEqual(bruteForce.slice(0, 10).map((hit) => hit.position));
  expect(new Set(reranked.slice(0, 10).map((hit) => hit.position))).toEqual(planted);
  // The two-bit codes narrow a wider pick and keep the planted ten.
  const wide = index.candidates(query, 1_000);
  const refined = [...index.refine(query, wide, 50)];
  expect(refined).toHaveLength(50);
  expect(refined.every((position) => wide.includes(position))).toBe(true);
  for (const position of planted) expect(refined).toContain(position);
  // A filter is applied before picking: only allowed positions come back.
  const even = [
    ...index.candidates(
      query,
      50,
      Uint8Array.from({ length: index.size }, (_, position) => (position % 2 === 0 ? 1 : 0)),
    ),
  ];
  expect(even.every((position) => position % 2 === 0)).toBe(true);
  expect(even).toContain(250);
});

test("with no more vectors than asked for, every one is a candidate", () => {
  const random = generator(3);
  const vectors = Array.from({ length: 7 }, () => unit(Array.from({ length: 20 }, random)));
  const index = BinaryQuantizedIndex.build(vectors, vectors.length, 20);
  expect([...index.candidates(vectors[0] as Float32Array, 10)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(() => BinaryQuantizedIndex.build([new Float32Array(5)], 1, 20)).toThrow(RangeError);
});
