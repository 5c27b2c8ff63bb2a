import { describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { planRepo } from "../testing/plan-fixture.ts";
import { TEXT_AND_LOUD, workflowWorkspace } from "../testing/workflow-fixture.ts";
import { runTool, toolSet } from "../tools/define-tool.ts";
import { workflowRun, workflowRunTool } from "./workflow-run-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const count = {
  name: "count",
  inputs: TEXT_AND_LOUD,
  steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
  output: "$steps.count.output",
};

describe("workflow_run, the agent's tool", () => {
  test("runs a workspace workflow in the sandbox; its output is the result's data; failures are results naming step and key", async () => {
    using workspace = workflowWorkspace();
    workspace.write("count.json", count);
    const context = { signal: new AbortController().signal, workspaceDir: workspace.dir, sessionId: "s1", ...testSandboxAccess() };
    const tools = toolSet([workflowRun]);
    const ran = await runTool(tools, { name: "workflow_run", arguments: { file: "count.json", inputs: { text: "a b c", loud: false } } }, context);
    expect(ran).toMatchObject({ ok: true, output: '{"words":3}', data: { words: 3 } });

    const wrongInputs = await runTool(tools, { name: "workflow_run", arguments: { file: "count.json", inputs: { text: 1 } } }, context);
    expect(wrongInputs.ok).toBe(false);
    expect(wrongInputs.output).toContain("count.json: key inputs: the inputs do not match");
    expect(wrongInputs.output).toContain("call workflow_run again");
  }, 30_000);

  test("a step naming the browser finds no such tool: a workflow cannot start a browser (docs/browser.md)", async () => {
    using workspace = workflowWorkspace();
    const browse = {
      name: "browse",
      inputs: TEXT_AND_LOUD,
      steps: [{ id: "open", tool: "browser", inputs: { action: "open", url: "$inputs.text" } }],
      output: "$steps.open.output",
    };
    workspace.write("browse.json", browse);
    const context = { signal: new AbortController().signal, workspaceDir: workspace.dir, sessionId: "s1", ...testSandboxAccess() };
    const ran = await runTool(
      toolSet([workflowRun]),
      { name: "workflow_run", arguments: { file: "browse.json", inputs: { text: "https://example.com/", loud: false } } },
      context,
    );
    expect(ran.ok).toBe(false);
    expect(ran.output).toContain('step "open", key tool: there is no promoted tool "browser"');
  });

  test("a file outside the workspace or inside .org/ is refused before anything runs", async () => {
    using workspace = workflowWorkspace();
    using elsewhere = workflowWorkspace("org-workflow-elsewhere-");
    elsewhere.write("count.json", count);
    mkdirSync(join(workspace.dir, ".org"), { recursive: true });
    workspace.write(".org/count.json", count);
    const context = { signal: new AbortController().signal, workspaceDir: workspace.dir, ...testSandboxAccess() };
    const tools = toolSet([workflowRun]);
    for (const file of [
      join(elsewhere.dir, "count.json"),
      `../${join(elsewhere.dir.split("/").at(-1) as string, "count.json")}`,
      ".org/count.json",
    ]) {
      const result = await runTool(tools, { name: "workflow_run", arguments: { file, inputs: { text: "a", loud: false } } }, context);
      expect(result.ok).toBe(false);
      expect(result.output).toContain("is outside the workspace (or in .org/)");
    }
  });

  test("a workspace without the tool runs it from the checkout it was given, as a candidate's instance serves its own tools", async () => {
    using checkout = workflowWorkspace("org-workflow-checkout-");
    using workspace = workflowWorkspace("org-workflow-bare-");
    rmSync(join(workspace.dir, "tools"), { recursive: true });
    workspace.write("count.json", count);
    const context = { signal: new AbortController().signal, workspaceDir: workspace.dir, ...testSandboxAccess() };
    const tools = toolSet([workflowRunTool({ checkoutDir: checkout.dir })]);
    const ran = await runTool(tools, { name: "workflow_run", arguments: { file: "count.json", inputs: { text: "one two", loud: false } } }, context);
    expect(ran).toMatchObject({ ok: true, data: { words: 2 } });
  }, 30_000);

  test("a promoted workflow (workflows/<name>.json of the checkout) runs when the workspace has none of that name", async () => {
    using checkout = planRepo("org-workflow-promoted-");
    using workspace = workflowWorkspace("org-workflow-without-");
    const context = { signal: new AbortController().signal, workspaceDir: workspace.dir, ...testSandboxAccess() };
    const tools = toolSet([workflowRunTool({ checkoutDir: checkout.dir })]);
    const ran = await runTool(tools, { name: "workflow_run", arguments: { file: "workflows/line-words.json", inputs: { text: "a b\nc" } } }, context);
    expect(ran).toMatchObject({ ok: true, data: { per_line: [{ words: 2 }, { words: 1 }] } });
    // Only that one spelling reaches the checkout: any other path stays in the workspace.
    const other = await runTool(tools, { name: "workflow_run", arguments: { file: "./workflows/line-words.json", inputs: { text: "a" } } }, context);
    expect(other.ok).toBe(false);
  }, 30_000);
});
