// docs/memory.md walked against the playground (testing/doc-walks/memory-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { memoryWalk } from "../testing/doc-walks/memory-walk.ts";

test("docs/memory.md: what was said is found again, and after the database is removed, rebuilt from the transcripts", async () => {
  await runWalk(memoryWalk);
}, 300_000);
