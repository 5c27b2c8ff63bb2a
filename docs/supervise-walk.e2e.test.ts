// docs/supervise.md walked against the playground (testing/doc-walks/supervise-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { superviseWalk } from "../testing/doc-walks/supervise-walk.ts";

test("docs/supervise.md: rounds after a killed grow and a stopped model server, the status, backups verified, altered and restored", async () => {
  await runWalk(superviseWalk);
}, 300_000);
