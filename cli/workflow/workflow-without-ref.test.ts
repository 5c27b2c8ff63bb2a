import { expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../../config/workspace-paths.ts";
import { countWorkflowWorkspace } from "../../testing/count-workflow.ts";
import { writeGeneratedTool } from "../../testing/generated-tool-files.ts";
import { runOrgProcess } from "../../testing/org-process.ts";

// Apart from cli/tool/tool-command.test.ts (where the same workflow runs a candidate's tool with --ref). The tool is
// the test's own, under a name the running checkout has not promoted: whatever that checkout has grown (a word_count
// that answers {"count":1}, say), the outcome is the same.
test("without --ref a workflow is offered only promoted tools: the workspace's, then the running checkout's", async () => {
  let tool = "own_word_count";
  for (let suffix = 2; existsSync(join(CHECKOUT_DIR, GENERATED_TOOLS_DIR, tool)); suffix += 1) tool = `own_word_count_${suffix}`;
  const workspace = countWorkflowWorkspace("org-workflow-without-ref-", tool);
  const run = () =>
    runOrgProcess(["workflow", "run", "count.json", "--inputs", '{"text":"x"}', "--json"], { cwd: workspace, env: { PATH: "/usr/bin:/bin" } });
  try {
    writeGeneratedTool(workspace, tool);
    expect(await run()).toMatchObject({ exitCode: 0, stdout: '{"words":1}\n' });
    // Not promoted anywhere: the step's tool is refused before anything runs.
    rmSync(join(workspace, GENERATED_TOOLS_DIR), { recursive: true });
    const refused = await run();
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('step "count", key tool');
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}, 60_000);
