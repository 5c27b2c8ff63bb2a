import { z } from "zod";
import type { GeneratedToolRun } from "../generated-tools/run-generated-tool.ts";
import { shownName, type WorkflowGraph } from "./load-workflow.ts";
import { nestedWorkflowPath } from "./nested-workflow-path.ts";
import { StepRunCounter } from "./step-run-count.ts";
import { placeOf, type Workflow, type WorkflowStep, WorkflowError } from "./workflow-file.ts";
import { follow, type Lookup, type Reference, resolveValue } from "./workflow-references.ts";

/** Runs one generated tool on one input; the real one is the sandboxed runner `tool run` uses. */
export type ToolCaller = (name: string, input: unknown, signal?: AbortSignal) => Promise<GeneratedToolRun>;

/** A step finished or was skipped (progress for a terminal or a transcript). */
export type StepEvent = { file: string; step: string; status: "done" | "skipped"; items?: number; durationMs: number };

const MAX_ITEMS = 1_000;

/** A short, one-line view of a value for messages. */
function brief(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

type RunOptions = { callTool: ToolCaller; signal?: AbortSignal; onStep?: (event: StepEvent) => void; stepRuns: StepRunCounter };

/**
 * Runs a checked workflow graph on `inputs`: steps in order, each tool call through `callTool`; references
 * resolved as steps finish; `if_condition` false skips a step (its output is null); `foreach` runs a step
 * per item (`$item`, `$index`) and its output is the list of results in order. Returns the workflow's
 * `output`. Any failure throws a WorkflowError naming the file, the step, the key or the item; so does the
 * step run past `maxStepRuns` (limits.workflowStepRuns, default 10 000: every step run, nested and foreach
 * items included).
 */
export async function runWorkflow(
  graph: WorkflowGraph,
  inputs: unknown,
  options: { callTool: ToolCaller; signal?: AbortSignal; onStep?: (event: StepEvent) => void; maxStepRuns?: number },
): Promise<unknown> {
  const { maxStepRuns, ...rest } = options;
  return runOne(graph, graph.root, inputs, { ...rest, stepRuns: new StepRunCounter(maxStepRuns) });
}

/** What a running workflow has so far: its file's shown name, its checked inputs, the steps' outputs and the steps skipped. */
type RunScope = { file: string; given: unknown; outputs: Map<string, unknown>; skipped: Set<string> };

async function runOne(graph: WorkflowGraph, path: string, inputs: unknown, options: RunOptions): Promise<unknown> {
  const workflow = graph.workflows.get(path);
  const file = shownName(path);
  if (!workflow) throw new WorkflowError(`${file}: not loaded; run it through loadWorkflowGraph`, file);
  const scope: RunScope = { file, given: checkedInputs(workflow.inputs, inputs, file), outputs: new Map(), skipped: new Set() };
  for (const step of workflow.steps) {
    options.signal?.throwIfAborted();
    await runStep(graph, path, step, scope, options);
  }
  return resolveAt(file, workflow.output, undefined, "output", lookupIn(scope));
}

/** The inputs as the workflow's inputs schema reads them; a WorkflowError lists what does not match. */
function checkedInputs(schema: Workflow["inputs"], inputs: unknown, file: string): unknown {
  const checked = z.fromJSONSchema(schema).safeParse(inputs);
  if (checked.success) return checked.data;
  const issues = checked.error.issues.map((issue) => `${issue.path.join(".") || "(inputs)"}: ${issue.message}`).join("; ");
  throw new WorkflowError(
    `${placeOf(file, undefined, "inputs")} the inputs do not match the workflow's inputs schema: ${issues}`,
    file,
    undefined,
    "inputs",
  );
}

/** How references resolve in this scope, with `$item` and `$index` when a foreach item runs. */
function lookupIn(scope: RunScope, item?: { value: unknown; index: number }): Lookup {
  return (reference: Reference) => {
    switch (reference.root) {
      case "inputs":
        return follow(scope.given, reference.path, "$inputs");
      case "steps": {
        const [id = "", , ...fields] = reference.path;
        // A skipped step's output is null, and so is anything read through it.
        if (scope.skipped.has(id)) return null;
        return follow(scope.outputs.get(id), fields, `$steps.${id}.output`);
      }
      case "item":
        return follow(item?.value, reference.path, "$item");
      case "index":
        return item?.index;
    }
  };
}

/** A value with its references resolved; a reference that does not resolve is a WorkflowError at `step` and `key`. */
function resolveAt(file: string, value: unknown, step: string | undefined, key: string, lookup: Lookup): unknown {
  try {
    return resolveValue(value, lookup);
  } catch (error) {
    throw new WorkflowError(`${placeOf(file, step, key)} ${error instanceof Error ? error.message : String(error)}`, file, step, key);
  }
}

function resolveInputs(file: string, step: WorkflowStep, lookup: Lookup): Record<string, unknown> {
  return Object.fromEntries(Object.entries(step.inputs).map(([name, value]) => [name, resolveAt(file, value, step.id, `inputs.${name}`, lookup)]));
}

/** Whether a step runs: its `if_condition` (none: it runs), which must come out true or false. */
function conditionHolds(scope: RunScope, step: WorkflowStep): boolean {
  if (step.if_condition === undefined) return true;
  const { file } = scope;
  const condition = resolveAt(file, step.if_condition, step.id, "if_condition", lookupIn(scope));
  if (typeof condition !== "boolean") {
    throw new WorkflowError(
      `${placeOf(file, step.id, "if_condition")} ${step.if_condition} is ${brief(condition)}, not true or false`,
      file,
      step.id,
      "if_condition",
    );
  }
  return condition;
}

/** Runs one step: skipped when its condition is false, once, or once per item of its `foreach` list. */
async function runStep(graph: WorkflowGraph, path: string, step: WorkflowStep, scope: RunScope, options: RunOptions): Promise<void> {
  const { file, outputs } = scope;
  const started = performance.now();
  if (!conditionHolds(scope, step)) {
    scope.skipped.add(step.id);
    outputs.set(step.id, null);
    options.onStep?.({ file, step: step.id, status: "skipped", durationMs: 0 });
    return;
  }
  if (step.foreach === undefined) {
    outputs.set(step.id, await callStep(graph, path, step, file, resolveInputs(file, step, lookupIn(scope)), "", options));
    options.onStep?.({ file, step: step.id, status: "done", durationMs: performance.now() - started });
    return;
  }
  const list = resolveAt(file, step.foreach, step.id, "foreach", lookupIn(scope));
  if (!Array.isArray(list))
    throw new WorkflowError(`${placeOf(file, step.id, "foreach")} ${step.foreach} is ${brief(list)}, not a list`, file, step.id, "foreach");
  if (list.length > MAX_ITEMS)
    throw new WorkflowError(`${placeOf(file, step.id, "foreach")} ${list.length} items; a step runs at most ${MAX_ITEMS}`, file, step.id, "foreach");
  const results: unknown[] = [];
  for (const [index, value] of list.entries()) {
    const input = resolveInputs(file, step, lookupIn(scope, { value, index }));
    results.push(await callStep(graph, path, step, file, input, ` item ${index} of ${list.length} (${brief(value)}):`, options));
  }
  outputs.set(step.id, results);
  options.onStep?.({ file, step: step.id, status: "done", items: list.length, durationMs: performance.now() - started });
}

/** One run of a step on `input`: its nested workflow or its tool; `where` names the foreach item in errors. */
async function callStep(
  graph: WorkflowGraph,
  path: string,
  step: WorkflowStep,
  file: string,
  input: unknown,
  where: string,
  options: RunOptions,
): Promise<unknown> {
  options.stepRuns.count(file, step.id);
  if (step.workflow !== undefined) {
    const nested = nestedWorkflowPath(graph, path, step.id);
    try {
      return await runOne(graph, nested, input, options);
    } catch (error) {
      if (!(error instanceof WorkflowError)) throw error;
      throw new WorkflowError(`${placeOf(file, step.id, "workflow")}${where} ${error.message}`, file, step.id, "workflow");
    }
  }
  // The step schema holds exactly one of tool and workflow.
  if (step.tool === undefined)
    throw new WorkflowError(`${placeOf(file, step.id, "tool")} needs exactly one of "tool" or "workflow"`, file, step.id, "tool");
  const run = await options.callTool(step.tool, input, options.signal);
  if (run.ok) return run.output;
  throw new WorkflowError(
    `${placeOf(file, step.id, "tool")}${where} the tool ${step.tool} failed (${run.reason}): ${run.error}`,
    file,
    step.id,
    "tool",
  );
}
