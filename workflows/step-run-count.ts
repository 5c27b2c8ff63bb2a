import { basename } from "node:path";
import type { WorkflowGraph } from "./load-workflow.ts";
import { nestedWorkflowPath } from "./nested-workflow-path.ts";
import { placeOf, type Workflow, WorkflowError } from "./workflow-file.ts";
import { wholeReference } from "./workflow-references.ts";

/** Step runs one workflow run may make in all unless limits.workflowStepRuns says otherwise. */
export const DEFAULT_WORKFLOW_STEP_RUNS = 10_000;

/** How many items a `foreach` runs at least: the `minItems` of the input list it reads, else 0 (it may be empty). */
function fewestItems(workflow: Workflow, foreach: string): number {
  const reference = wholeReference(foreach);
  const [name, ...deeper] = reference?.root === "inputs" ? reference.path : [];
  if (name === undefined || deeper.length > 0) return 0;
  const properties = workflow.inputs.properties;
  const property = isRecord(properties) ? properties[name] : undefined;
  const minItems = isRecord(property) ? property.minItems : undefined;
  return typeof minItems === "number" && Number.isInteger(minItems) && minItems > 0 ? minItems : 0;
}

/**
 * The fewest step runs any run of the graph makes: every step counts once per run (each `foreach` item once),
 * a nested workflow's steps each time it runs; a step with `if_condition` may be skipped and counts 0, a
 * `foreach` counts the `minItems` of its input list where known. What is certain, never a guess.
 */
export function fewestStepRuns(graph: WorkflowGraph, path: string = graph.root, known = new Map<string, number>()): number {
  const cached = known.get(path);
  if (cached !== undefined) return cached;
  const workflow = graph.workflows.get(path);
  if (!workflow) return 0;
  let total = 0;
  for (const step of workflow.steps) {
    if (step.if_condition !== undefined) continue;
    const nested = step.workflow !== undefined ? fewestStepRuns(graph, nestedWorkflowPath(graph, path, step.id), known) : 0;
    const times = step.foreach !== undefined ? fewestItems(workflow, step.foreach) : 1;
    total += times * (1 + nested);
  }
  known.set(path, total);
  return total;
}

/** Refuses a graph certain to pass `maxStepRuns` before anything runs (`workflow check` and every run). */
export function checkStepRuns(graph: WorkflowGraph, maxStepRuns: number): void {
  const fewest = fewestStepRuns(graph);
  if (fewest <= maxStepRuns) return;
  const file = basename(graph.root);
  throw new WorkflowError(
    `${file}: every run of this workflow makes at least ${fewest.toLocaleString("en-US")} step runs (each ` +
      `nested workflow's steps count each time it runs, each foreach item once), more than ` +
      `limits.workflowStepRuns (${maxStepRuns.toLocaleString("en-US")}). Nest less, or raise the limit in org.config.json.`,
    file,
  );
}

/** Counts the step runs of one workflow run, nested ones included; throws once the limit is passed. */
export class StepRunCounter {
  #runs = 0;
  constructor(readonly maxStepRuns: number = DEFAULT_WORKFLOW_STEP_RUNS) {}

  get runs(): number {
    return this.#runs;
  }

  /** One more step run, of `step` in `file`; stops the workflow when it would be one too many. */
  count(file: string, step: string): void {
    if (this.#runs >= this.maxStepRuns) {
      throw new WorkflowError(
        `${placeOf(file, step)} stopped: this run reached limits.workflowStepRuns ` +
          `(${this.maxStepRuns.toLocaleString("en-US")} step runs, nested workflows and foreach items ` +
          `included). Make the workflow do less per run, or raise the limit in org.config.json.`,
        file,
        step,
      );
    }
    this.#runs += 1;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
