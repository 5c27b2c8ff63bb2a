import { expect, test } from "bun:test";
import { staleShippedTrace } from "./shipped-trace.ts";

test("fitness/shipped-trace.json holds a verdict that stands for every test file a tool can reach in this tree, and no other", async () => {
  const { tests, stale, extra, reason } = await staleShippedTrace();
  expect(tests.length).toBeGreaterThan(0);
  const problem =
    stale.length + extra.length === 0
      ? undefined
      : `${stale.length} verdict(s) stale (${reason}: ${stale.join(", ")}), ${extra.length} for files no longer selected (${extra.join(", ")}): ` +
        "run npm run trace:ship and commit fitness/shipped-trace.json";
  expect(problem).toBeUndefined();
}, 60_000);
