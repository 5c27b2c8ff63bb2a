// docs/workspace.md walked against the playground (testing/doc-walks/workspace-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { workspaceWalk } from "../testing/doc-walks/workspace-walk.ts";

test("docs/workspace.md: the write view's change approved and undone, org undo's list, refusal, --force, a shipped journal", async () => {
  await runWalk(workspaceWalk);
}, 300_000);
