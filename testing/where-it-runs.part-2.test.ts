// No test may depend on where it runs (testing/where-it-runs.ts): part 2 of the checkout-sensitive files, in a clone
// under a 0700 folder at a detached HEAD, with an extra promoted tool, a hostile git config and org npm-linked on PATH.
import { expect, test } from "bun:test";
import { runWhereItRunsPart } from "./where-it-runs.ts";

test("the checkout-sensitive tests (part 2) pass in a clone under a 0700 folder at a detached HEAD, with an extra promoted tool, a hostile git config and org npm-linked on PATH", async () => {
  const run = await runWhereItRunsPart(2);
  expect(run.files.length).toBeGreaterThan(0);
  expect({ code: run.code, failures: run.failures }).toEqual({ code: 0, failures: [] });
  expect(run.output).toMatch(/\b0 fail\b/);
  expect(run.output).not.toContain("a stranger org ran");
}, 960_000);
