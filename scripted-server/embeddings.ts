/** FNV-1a over UTF-16 code units: a stable seed per input text. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/** A deterministic, L2-normalized pseudo-embedding of `text`: the same text always gives the same vector. */
export function fakeEmbedding(text: string, dimensions = 768): number[] {
  let state = hash(text) || 1;
  const vector: number[] = [];
  for (let index = 0; index < dimensions; index += 1) {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    vector.push(((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296 - 0.5);
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
  return vector.map((value) => Math.fround(value / norm));
}
