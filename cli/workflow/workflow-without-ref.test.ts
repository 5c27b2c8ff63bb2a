import { expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { countWorkflowWorkspace } from "../../testing/count-workflow.ts";
import { runOrgProcess } from "../../testing/org-process.ts";

// Apart from cli/tool/tool-command.test.ts (where the same workflow runs a candidate's tool with --ref): this is the
// one case there that reads the running checkout's tools/generated/, so a gate reruns this small file alone for it.
test("without --ref a workflow is offered only the running checkout's promoted tools", async () => {
  const workspace = countWorkflowWorkspace("org-workflow-without-ref-");
  try {
    const run = await runOrgProcess(["workflow", "run", "count.json", "--inputs", '{"text":"x"}', "--json"], {
      cwd: workspace,
      env: { PATH: "/usr/bin:/bin" },
    });
    // A gate's clone of a grown checkout may have promoted a word_count of its own; a fresh one has none.
    if (existsSync(join(CHECKOUT_DIR, "tools", "generated", "word_count"))) {
      expect(run).toMatchObject({ exitCode: 0, stdout: '{"words":1}\n' });
    } else {
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('step "count", key tool');
    }
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}, 60_000);
