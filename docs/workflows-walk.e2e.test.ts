// docs/workflows.md walked against the playground (testing/doc-walks/workflows-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { workflowsWalk } from "../testing/doc-walks/workflows-walk.ts";

test("docs/workflows.md: the page's workflow run and refused, a plan that names what no tool does, one planned and run", async () => {
  await runWalk(workflowsWalk);
}, 600_000);
