import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadWorkflowGraph } from "../workflows/load-workflow.ts";
import { type Workflow, WORKFLOW_FILE_PATTERN } from "../workflows/workflow-file.ts";

/** The folder a workspace keeps its workflows in, where a plan runs as if it were a file (its nested workflows resolve there). */
export const workflowsFolder = (workspaceDir: string) => join(workspaceDir, "workflows");

/**
 * The workflows saved in the workspace's `workflows/` that check out (their tools usable, their nesting sound), by
 * file name: what a plan may nest. One that does not check out is left out, with a note.
 */
export function savedWorkflows(workspaceDir: string, checkTool: (name: string) => string | undefined): { workflows: Map<string, Workflow>; notes: string[] } {
  const folder = workflowsFolder(workspaceDir);
  const workflows = new Map<string, Workflow>();
  const notes: string[] = [];
  let files: string[];
  try {
    files = readdirSync(folder, { withFileTypes: true })
      .filter((entry) => entry.isFile() && WORKFLOW_FILE_PATTERN.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return { workflows, notes };
  }
  for (const file of files) {
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
