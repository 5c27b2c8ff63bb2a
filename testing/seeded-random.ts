/**
 * A fixed pseudo-random sequence of unsigned 32-bit words from `seed` (a linear congruential generator), so tests and
 * benches build the same data on every run.
 */
export function seededWords(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}

/** The same sequence as numbers in [0, 1). */
export function seededFractions(seed: number): () => number {
  const next = seededWords(seed);
  return () => next() / 4294967296;
}
