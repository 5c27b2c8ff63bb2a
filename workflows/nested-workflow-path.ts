import { basename } from "node:path";
import type { WorkflowGraph } from "./load-workflow.ts";
import { placeOf, WorkflowError } from "./workflow-file.ts";

/** The real path of the workflow that step `stepId` of the workflow at `path` runs, as the graph recorded it when loading. */
export function nestedWorkflowPath(graph: WorkflowGraph, path: string, stepId: string): string {
  const nested = graph.nested.get(`${path}#${stepId}`);
  if (nested !== undefined) return nested;
  const file = basename(path);
  throw new WorkflowError(
    `${placeOf(file, stepId, "workflow")} the graph holds no workflow for this step. Load the workflow with ` +
      `loadWorkflowGraph, which reads every nested workflow.`,
    file,
    stepId,
    "workflow",
  );
}
