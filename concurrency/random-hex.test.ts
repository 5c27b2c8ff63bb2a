import { expect, test } from "bun:test";
import { randomHex } from "./random-hex.ts";

test("randomHex gives two hex digits a byte, and another value each call", () => {
  for (const bytes of [1, 4, 32]) expect(randomHex(bytes)).toMatch(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));
  const seen = new Set(Array.from({ length: 100 }, () => randomHex(16)));
  expect(seen.size).toBe(100);
});
