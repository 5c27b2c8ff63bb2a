import { expect, test } from "bun:test";
import { counted } from "./counted.ts";

test("one is singular; zero, many and fractions are plural; an irregular plural is given", () => {
  expect([0, 1, 2, 1.5, 21].map((count) => counted(count, "line"))).toEqual(["0 lines", "1 line", "2 lines", "1.5 lines", "21 lines"]);
  expect([1, 3].map((count) => counted(count, "entry", "entries"))).toEqual(["1 entry", "3 entries"]);
});
