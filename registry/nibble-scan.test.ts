import { expect, test } from "bun:test";
import { seededWords } from "../testing/seeded-random.ts";
import { NibbleScan, scanModuleBytes } from "./nibble-scan.ts";

test("the scan module is valid WebAssembly with SIMD on this runtime", () => {
  expect(WebAssembly.validate(scanModuleBytes())).toBe(true);
  expect(new NibbleScan(1, 1).simd).toBe(true);
});

test("each score is the sum of one table entry per nibble, alike from the SIMD loop, the JavaScript loop and by hand", () => {
  const random = seededWords(11);
  // Sizes that fill no block, one block and a few blocks and a bit, nibble counts odd and even.
  for (const [size, nibbles] of [
    [1, 1],
    [33, 3],
    [32, 16],
    [1_000, 384],
  ] as const) {
    const simd = new NibbleScan(size, nibbles);
    const plain = new NibbleScan(size, nibbles, { simd: false });
    const codes = Array.from({ length: size }, () => Array.from({ length: nibbles }, () => random() >>> 28));
    for (const [position, code] of codes.entries()) {
      for (const [nibble, value] of code.entries()) {
        simd.set(position, nibble, value);
        plain.set(position, nibble, value);
      }
    }
    for (const [position, code] of codes.entries()) for (const [nibble, value] of code.entries()) expect(simd.get(position, nibble)).toBe(value);
    // Entries up to 170 keep 384 nibbles' sums under 65 536, as the two-bit codes' tables do.
    for (let entry = 0; entry < simd.table.length; entry += 1) {
      const value = (random() >>> 24) % 171;
      simd.table[entry] = value;
      plain.table[entry] = value;
    }
    const byHand = codes.map((code) => code.reduce((sum, value, nibble) => sum + (simd.table[nibble * 16 + value] ?? 0), 0));
    expect(Array.from(simd.scan().subarray(0, size))).toEqual(byHand);
    expect(Array.from(plain.scan().subarray(0, size))).toEqual(byHand);
  }
});

test("setting a nibble again replaces it and leaves its neighbours alone", () => {
  const scan = new NibbleScan(40, 2);
  scan.set(3, 1, 15);
  scan.set(19, 1, 9);
  scan.set(3, 1, 4);
  expect([scan.get(3, 1), scan.get(19, 1), scan.get(3, 0), scan.get(35, 1)]).toEqual([4, 9, 0, 0]);
  expect(() => new NibbleScan(1 << 24, 1 << 10)).toThrow(RangeError);
});
