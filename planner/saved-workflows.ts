import { join } from "node:path";
import { loadWorkflowGraph } from "../workflows/load-workflow.ts";
import type { Workflow } from "../workflows/workflow-file.ts";
import { workflowFiles, workflowsFolder } from "../workflows/workflow-files.ts";

/**
 * The workflows saved in the workspace's `workflows/` that check out (their tools usable, their nesting sound), by
 * file name: what a plan may nest. One that does not check out is left out, with a note.
 */
export function savedWorkflows(
  workspaceDir: string,
  checkTool: (name: string) => string | undefined,
): { workflows: Map<string, Workflow>; notes: string[] } {
  const folder = workflowsFolder(workspaceDir);
  const workflows = new Map<string, Workflow>();
  const notes: string[] = [];
  for (const file of workflowFiles(workspaceDir)) {
    try {
      const graph = loadWorkflowGraph(join(folder, file), { within: workspaceDir, checkTool });
      const workflow = graph.workflows.get(graph.root);
      if (workflow) workflows.set(file, workflow);
    } catch (error) {
      notes.push(`workflows/${file} is left out: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { workflows, notes };
}
