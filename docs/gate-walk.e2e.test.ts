// docs/gate.md walked in a throw-away clone of org (testing/doc-walks/gate-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { gateWalk } from "../testing/doc-walks/gate-walk.ts";

test("docs/gate.md: two candidates judged and promoted in turn, one rolled back, rebased and promoted again; tool new --promote", async () => {
  await runWalk(gateWalk);
}, 900_000);
