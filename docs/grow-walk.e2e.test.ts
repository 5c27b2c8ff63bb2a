// docs/grow.md walked against the playground (testing/doc-walks/grow-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { growWalk } from "../testing/doc-walks/grow-walk.ts";

test("docs/grow.md: needs heard, the most needed built, judged and promoted, a person's word, the budget, a failing tool rolled back", async () => {
  await runWalk(growWalk);
}, 900_000);
