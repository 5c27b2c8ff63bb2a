// docs/tools.md walked as its sessions run (testing/doc-walks/tools-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { toolsWalk } from "../testing/doc-walks/tools-walk.ts";

test("docs/tools.md: tool new from the clone, a project and the room, the candidate run and shown, search, stats", async () => {
  await runWalk(toolsWalk);
}, 600_000);
