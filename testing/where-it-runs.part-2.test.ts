// No test may depend on where it runs (testing/where-it-runs.ts): part 2 of the checkout-sensitive files, in a clone
// under a 0700 folder at a detached HEAD, grown as a user's, a hostile git config and org npm-linked on PATH.
import { test } from "bun:test";
import { expectPartPasses } from "./where-it-runs.ts";

test("the checkout-sensitive tests (part 2) pass in a clone under a 0700 folder at a detached HEAD, grown as a user's, a hostile git config and org npm-linked on PATH", async () => {
  await expectPartPasses(2);
}, 960_000);
