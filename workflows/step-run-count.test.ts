import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { workflowWorkspace } from "../testing/workflow-fixture.ts";
import type { GeneratedToolRun } from "../generated-tools/run-generated-tool.ts";
import { loadWorkflowGraph } from "./load-workflow.ts";
import { runWorkflow } from "./run-workflow.ts";
import { fewestStepRuns } from "./step-run-count.ts";
import { WorkflowError } from "./workflow-file.ts";

const TEXT = { type: "object", properties: { text: { type: "string" }, go: { type: "boolean" } }, required: ["text"] };
const steps = (count: number, step: (index: number) => Record<string, unknown>) =>
  Array.from({ length: count }, (_, index) => ({ id: `s${index}`, inputs: { text: "$inputs.text" }, ...step(index) }));

/** `l1.json` … `l<depth>.json`, each with `width` steps running the next level; the last runs word_count. */
function nestedLevels(
  workspace: ReturnType<typeof workflowWorkspace>,
  depth: number,
  width: number,
  top: (index: number) => Record<string, unknown> = () => ({}),
): string {
  for (let level = depth; level >= 1; level -= 1) {
    const inner = level === depth ? { tool: "word_count" } : { workflow: `l${level + 1}.json` };
    workspace.write(`l${level}.json`, {
      name: `level ${level}`,
      inputs: TEXT,
      steps: steps(width, (index) => ({ ...inner, ...(level === 1 ? top(index) : {}) })),
      output: null,
    });
  }
  return join(workspace.dir, "l1.json");
}

/** A tool caller that counts its calls instead of starting a sandbox: what is under test is the workflow's count. */
function countingCaller() {
  const calls = { count: 0 };
  const callTool = async (): Promise<GeneratedToolRun> => {
    calls.count += 1;
    return { ok: true, output: { words: 1 }, durationMs: 0 };
  };
  return { calls, callTool };
}

describe("limits.workflowStepRuns (default 10 000)", () => {
  test("200 steps nested 4 deep (200⁴ runs) are refused by the check, before anything runs", () => {
    using workspace = workflowWorkspace();
    const root = nestedLevels(workspace, 4, 200);
    let error: unknown;
    try {
      loadWorkflowGraph(root);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as Error).message).toContain("l1.json: every run of this workflow makes at least 1,608,040,200 step runs");
    expect((error as Error).message).toContain("more than limits.workflowStepRuns (10,000)");
    // One level less is still too much; two levels (40 200 runs) too; a lower limit refuses less.
    expect(() => loadWorkflowGraph(nestedLevels(workspace, 2, 200))).toThrow("at least 40,200 step runs");
    expect(() => loadWorkflowGraph(nestedLevels(workspace, 1, 200), { maxStepRuns: 100 })).toThrow("at least 200 step runs");
    expect(fewestStepRuns(loadWorkflowGraph(nestedLevels(workspace, 1, 200)))).toBe(200);
  });

  test("what may not run is not counted as certain: skipped steps and foreach over lists of unknown length", () => {
    using workspace = workflowWorkspace();
    const root = nestedLevels(workspace, 3, 200, () => ({ if_condition: "$inputs.go" }));
    expect(fewestStepRuns(loadWorkflowGraph(root))).toBe(0);
    workspace.write("each.json", {
      name: "each",
      inputs: { type: "object", properties: { items: { type: "array", items: { type: "string" }, minItems: 3 } }, required: ["items"] },
      steps: [{ id: "count", tool: "word_count", foreach: "$inputs.items", inputs: { text: "$item" } }],
      output: null,
    });
    expect(fewestStepRuns(loadWorkflowGraph(join(workspace.dir, "each.json")))).toBe(3);
  });

  test("a run that reaches the limit stops there with a clear error, whatever the check could not know", async () => {
    using workspace = workflowWorkspace();
    // Every top step may be skipped, so the check passes; with go=true the run would make 200 × 201 × 201 step runs.
    const root = nestedLevels(workspace, 3, 200, () => ({ if_condition: "$inputs.go" }));
    const { calls, callTool } = countingCaller();
    const run = runWorkflow(loadWorkflowGraph(root), { text: "a", go: true }, { callTool });
    await expect(run).rejects.toThrow(
      "stopped: this run reached limits.workflowStepRuns (10,000 step runs, nested workflows and foreach items included)",
    );
    // 10 000 step runs: l1's first step, then 49 whole l2 steps (1 + 200 each) and the 50th with 149 of its tools.
    expect(calls.count).toBe(10_000 - 1 - 50);

    const small = countingCaller();
    await expect(runWorkflow(loadWorkflowGraph(root), { text: "a", go: true }, { callTool: small.callTool, maxStepRuns: 50 })).rejects.toThrow(
      "reached limits.workflowStepRuns (50 step runs",
    );
    expect(small.calls.count).toBeLessThan(50);
  });
});

describe("a graph without the workflow a step nests", () => {
  test("counting and running refuse it with a WorkflowError naming the step, instead of counting the root again", async () => {
    using workspace = workflowWorkspace();
    const loaded = loadWorkflowGraph(nestedLevels(workspace, 2, 1));
    const graph = { ...loaded, nested: new Map<string, string>() };
    expect(() => fewestStepRuns(graph)).toThrow(WorkflowError);
    expect(() => fewestStepRuns(graph)).toThrow('l1.json: step "s0", key workflow: the graph holds no workflow for this step.');
    const { calls, callTool } = countingCaller();
    await expect(runWorkflow(graph, { text: "a" }, { callTool })).rejects.toThrow(
      'l1.json: step "s0", key workflow: the graph holds no workflow for this step.',
    );
    expect(calls.count).toBe(0);
  });
});
