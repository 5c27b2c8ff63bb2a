import { meaningOf } from "./computed-replies.ts";

/** FNV-1a over UTF-16 code units: a stable seed per input text. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/** mulberry32 from `seed`: `count` numbers in [-0.5, 0.5). */
function noise(seed: number, count: number): number[] {
  let state = seed || 1;
  const values: number[] = [];
  for (let index = 0; index < count; index += 1) {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    values.push(((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296 - 0.5);
  }
  return values;
}

// nomic-embed-text's task prefixes: the fake model reads past them as the real one is trained to.
const TASK_PREFIX = /^(search_query|search_document|classification|clustering): /;

/**
 * A deterministic, L2-normalized pseudo-embedding of `text`: the same text always gives the same vector;
 * texts that share words or word pieces (character trigrams) are closer than texts that share none, so
 * similarity search over these vectors means something; a little per-text noise keeps all texts apart.
 * A text that says one of `meanings` (a phrase of it, any case) leans hard towards that meaning, so that two
 * paraphrases of it are nearer (cosine above 0.92) than any two texts that merely share words.
 */
export function fakeEmbedding(text: string, dimensions = 768, meanings: readonly (readonly string[])[] = []): number[] {
  const vector = noise(hash(text), dimensions).map((value) => value * 0.2);
  const add = (key: string, weight: number) => {
    const at = hash(key) % dimensions;
    vector[at] = (vector[at] ?? 0) + weight;
  };
  const words =
    text
      .replace(TASK_PREFIX, "")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    add(`w:${word}`, 1);
    const padded = ` ${word} `;
    for (let index = 0; index + 3 <= padded.length; index += 1) add(`t:${padded.slice(index, index + 3)}`, 0.5);
  }
  const meaning = meaningOf(text, meanings);
  if (meaning !== undefined) {
    // Four times the rest of the vector's length: two texts of one meaning have a cosine of about 16/17 or more.
    const rest = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
    add(`m:${meaning}`, 4 * rest);
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
  return vector.map((value) => Math.fround(value / norm));
}

/** Vectors as OpenAI sends them for `encoding_format: "base64"`: little-endian float32, base64. */
export function base64Embedding(vector: readonly number[]): string {
  const bytes = new DataView(new ArrayBuffer(vector.length * 4));
  for (const [index, value] of vector.entries()) bytes.setFloat32(index * 4, value, true);
  return Buffer.from(bytes.buffer).toString("base64");
}
