import { expect, test } from "bun:test";
import { decodeMappings, encodeMappings, lineMappings, type Segment } from "./line-mappings.ts";

// Maps of every shape bun writes and some it does not: segments without a source, with a name, lines going back,
// columns past 2^15 (several VLQ digits), empty generated lines. Made from a fixed seed, so a failure repeats.
function randomLines(seed: number): Segment[][] {
  let state = seed;
  const next = (below: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % below;
  };
  let source = 0;
  let line = 0;
  return Array.from({ length: 200 }, () => {
    let column = 0;
    return Array.from({ length: next(12) }, (): Segment => {
      column += next(5) === 0 ? 40_000 + next(9) : next(30);
      if (next(6) === 0) return { column };
      if (next(4) === 0) source = next(7);
      if (next(3) === 0) line = Math.max(0, line + next(9) - 4);
      return { column, place: { source, line, column: next(120), ...(next(5) === 0 ? { name: next(40) } : {}) } };
    });
  });
}

/** What a position maps to: the last segment at or before its column on its generated line. */
function placeAt(lines: Segment[][], line: number, column: number): string {
  const segment = (lines[line] ?? []).findLast((candidate) => candidate.column <= column);
  return segment?.place ? `${segment.place.source}:${segment.place.line}` : "none";
}

test("decoding and encoding are each other's inverse", () => {
  for (const seed of [1, 2, 3, 42, 2026]) {
    const lines = randomLines(seed);
    const text = encodeMappings(lines);
    expect(decodeMappings(text)).toEqual(lines);
    expect(encodeMappings(decodeMappings(text))).toBe(text);
  }
  // A fixed text: four fields, then five (a name), an empty generated line, a line whose source line is the next.
  expect(decodeMappings("AAAA,EAAE,CAACA;;AACA")).toEqual([
    [
      { column: 0, place: { source: 0, line: 0, column: 0 } },
      { column: 2, place: { source: 0, line: 0, column: 2 } },
      { column: 3, place: { source: 0, line: 0, column: 3, name: 0 } },
    ],
    [],
    [{ column: 0, place: { source: 0, line: 1, column: 3 } }],
  ]);
});

test("fewer segments, and every position still maps to the same file and line", () => {
  for (const seed of [5, 6, 7, 8, 9]) {
    const lines = randomLines(seed);
    const reduced = decodeMappings(lineMappings(encodeMappings(lines)));
    expect(reduced.flat().length).toBeLessThan(lines.flat().length);
    lines.forEach((segments, line) => {
      for (const column of [0, 1, 5, 17, 29, 100, 40_003, 80_000, 200_000, ...segments.map((segment) => segment.column)]) {
        expect(placeAt(reduced, line, column)).toBe(placeAt(lines, line, column));
      }
    });
  }
});
