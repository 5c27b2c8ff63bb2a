import { z } from "zod";
import type { GeneratedToolRun } from "../generated-tools/run-generated-tool.ts";
import { shownName, type WorkflowGraph } from "./load-workflow.ts";
import { nestedWorkflowPath } from "./nested-workflow-path.ts";
import { StepRunCounter } from "./step-run-count.ts";
import { placeOf, type WorkflowStep, WorkflowError } from "./workflow-file.ts";
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

async function runOne(graph: WorkflowGraph, path: string, inputs: unknown, options: RunOptions): Promise<unknown> {
  const workflow = graph.workflows.get(path);
  const file = shownName(path);
  if (!workflow) throw new WorkflowError(`${file}: not loaded; run it through loadWorkflowGraph`, file);
  const checked = z.fromJSONSchema(workflow.inputs).safeParse(inputs);
  if (!checked.success) {
    const issues = checked.error.issues.map((issue) => `${issue.path.join(".") || "(inputs)"}: ${issue.message}`).join("; ");
    throw new WorkflowError(`${placeOf(file, undefined, "inputs")} the inputs do not match the workflow's inputs schema: ${issues}`, file, undefined, "inputs");
  }
  const given = checked.data;
  const outputs = new Map<string, unknown>();
  const skipped = new Set<string>();
  const lookupWith =
    (item?: { value: unknown; index: number }): Lookup =>
    (reference: Reference) => {
      switch (reference.root) {
        case "inputs":
          return follow(given, reference.path, "$inputs");
        case "steps": {
          const [id = "", , ...fields] = reference.path;
          // A skipped step's output is null, and so is anything read through it.
          if (skipped.has(id)) return null;
          return follow(outputs.get(id), fields, `$steps.${id}.output`);
        }
        case "item":
          return follow(item?.value, reference.path, "$item");
        case "index":
          return item?.index;
      }
    };
  const resolveAt = (value: unknown, step: string | undefined, key: string, lookup: Lookup): unknown => {
    try {
      return resolveValue(value, lookup);
    } catch (error) {
      throw new WorkflowError(`${placeOf(file, step, key)} ${error instanceof Error ? error.message : String(error)}`, file, step, key);
    }
  };
  const resolveInputs = (step: WorkflowStep, lookup: Lookup) =>
    Object.fromEntries(Object.entries(step.inputs).map(([name, value]) => [name, resolveAt(value, step.id, `inputs.${name}`, lookup)]));

  for (const step of workflow.steps) {
    options.signal?.throwIfAborted();
    const started = performance.now();
    if (step.if_condition !== undefined) {
      const condition = resolveAt(step.if_condition, step.id, "if_condition", lookupWith());
      if (typeof condition !== "boolean") {
        throw new WorkflowError(
          `${placeOf(file, step.id, "if_condition")} ${step.if_condition} is ${brief(condition)}, not true or false`,
          file,
          step.id,
          "if_condition",
        );
      }
      if (!condition) {
        skipped.add(step.id);
        outputs.set(step.id, null);
        options.onStep?.({ file, step: step.id, status: "skipped", durationMs: 0 });
        continue;
      }
    }
    const call = async (input: unknown, where: string): Promise<unknown> => {
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
      const run = await options.callTool(step.tool as string, input, options.signal);
      if (run.ok) return run.output;
      throw new WorkflowError(`${placeOf(file, step.id, "tool")}${where} the tool ${step.tool} failed (${run.reason}): ${run.error}`, file, step.id, "tool");
    };
    if (step.foreach !== undefined) {
      const list = resolveAt(step.foreach, step.id, "foreach", lookupWith());
      if (!Array.isArray(list))
        throw new WorkflowError(`${placeOf(file, step.id, "foreach")} ${step.foreach} is ${brief(list)}, not a list`, file, step.id, "foreach");
      if (list.length > MAX_ITEMS)
        throw new WorkflowError(`${placeOf(file, step.id, "foreach")} ${list.length} items; a step runs at most ${MAX_ITEMS}`, file, step.id, "foreach");
      const results: unknown[] = [];
      for (const [index, value] of list.entries()) {
        const input = resolveInputs(step, lookupWith({ value, index }));
        results.push(await call(input, ` item ${index} of ${list.length} (${brief(value)}):`));
      }
      outputs.set(step.id, results);
      options.onStep?.({ file, step: step.id, status: "done", items: list.length, durationMs: performance.now() - started });
    } else {
      outputs.set(step.id, await call(resolveInputs(step, lookupWith()), ""));
      options.onStep?.({ file, step: step.id, status: "done", durationMs: performance.now() - started });
    }
  }
  return resolveAt(workflow.output, undefined, "output", lookupWith());
}
