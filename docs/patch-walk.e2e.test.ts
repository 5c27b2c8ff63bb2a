// docs/patch.md walked against the playground (testing/doc-walks/patch-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { patchWalk } from "../testing/doc-walks/patch-walk.ts";

test("docs/patch.md: the page's task as a patch and a commit message with its breadcrumb", async () => {
  await runWalk(patchWalk);
}, 300_000);
