import { expect, test } from "bun:test";
import { z } from "zod";
import { onFirstUse } from "./on-first-use.ts";

test("makes nothing until asked, then once: every caller gets the same value, undefined included", () => {
  let made = 0;
  const schema = onFirstUse(() => {
    made += 1;
    return z.object({ name: z.string() });
  });
  expect(made).toBe(0);
  const first = schema();
  expect(schema()).toBe(first);
  expect(made).toBe(1);
  expect(first.parse({ name: "agent" })).toEqual({ name: "agent" });

  let nothing = 0;
  const absent = onFirstUse(() => {
    nothing += 1;
    return undefined;
  });
  expect([absent(), absent()]).toEqual([undefined, undefined]);
  expect(nothing).toBe(1);
});

test("a maker that throws keeps nothing: the next call makes it again", () => {
  let calls = 0;
  const flaky = onFirstUse(() => {
    calls += 1;
    if (calls === 1) throw new Error("not yet");
    return calls;
  });
  expect(() => flaky()).toThrow("not yet");
  expect(flaky()).toBe(2);
  expect(flaky()).toBe(2);
});
