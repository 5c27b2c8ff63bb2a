import fc from "fast-check";

// What the stream readers' property tests share (llm/chat, read-ndjson, read-anthropic): a reply's parts as a small model
// writes them, and a body cut into reads at generated places.

/** A piece of a reply's text (no `<`, so no think tag is made by chance). */
export const textArbitrary = fc.string({ unit: "grapheme", maxLength: 12 }).filter((text) => !text.includes("<"));

/** A tool call: a name a server allows and up to three arguments of JSON's simple kinds. */
export const callArbitrary = fc.record({
  name: fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/),
  arguments: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.oneof(fc.string({ unit: "grapheme", maxLength: 10 }), fc.integer(), fc.boolean()), {
    maxKeys: 3,
  }),
});

/** `bytes` cut into reads at `cuts` (taken modulo the length; repeats and zero dropped), in order. */
export function cutInto(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % bytes.length))].filter((cut) => cut > 0).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.slice(start, point));
    start = point;
  }
  return pieces;
}
