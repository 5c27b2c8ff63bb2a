/**
 * A fixed pseudo-random sequence of unsigned 32-bit words from `seed` (a linear congruential generator), so tests and
 * benches build the same data on every run. Divide by 2 ** 32 for a number in [0, 1).
 */
export function seededWords(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}
