import { lstatSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { checkStepRuns, DEFAULT_WORKFLOW_STEP_RUNS } from "./step-run-count.ts";
import { parseWorkflow, placeOf, type Workflow, WorkflowError } from "./workflow-file.ts";
import { type Reference, referencesIn, wholeReference } from "./workflow-references.ts";

const MAX_WORKFLOW_BYTES = 1024 * 1024;
const MAX_DEPTH = 16;

/** A workflow file read and checked, and every workflow it nests, by real path. */
export type WorkflowGraph = {
  root: string;
  workflows: ReadonlyMap<string, Workflow>;
  /** `<real path>#<step id>` → the real path of the workflow that step runs. */
  nested: ReadonlyMap<string, string>;
};

export type LoadOptions = {
  /** Workflow files must lie inside this directory (the workspace); undefined allows any. */
  within?: string;
  /** Says why a tool cannot be used (undefined when it can): unknown name, invalid metadata. */
  checkTool?: (name: string) => string | undefined;
  /** limits.workflowStepRuns: a graph certain to make more step runs is refused (default 10 000). */
  maxStepRuns?: number;
};

/** The name a workflow file is shown by in messages. */
export const shownName = (path: string) => basename(path);

function readWorkflowFile(path: string, options: LoadOptions, at: { file: string; step?: string; key?: string }): { real: string; text: string } {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    // The file asked for on the command line has no step or key to name: the message says only what is missing.
    const where = at.step === undefined && at.key === undefined ? "" : `${placeOf(at.file, at.step, at.key)} `;
    throw new WorkflowError(
      `${where}there is no workflow file ` +
        `${at.step === undefined && at.key === undefined ? at.file : path}` +
        `${at.step === undefined && at.key === undefined ? ` (looked for ${path})` : ""}. Give the path of an ` +
        `existing .json workflow file; 'org workflow --help' shows what one holds.`,
      at.file,
      at.step,
      at.key,
    );
  }
  if (options.within !== undefined) {
    const inside = relative(realpathSync(options.within), real);
    if (inside === "" || inside.startsWith("..") || inside.split(sep)[0] === ORG_DIR) {
      throw new WorkflowError(
        `${placeOf(at.file, at.step, at.key)} ${path} is outside the workspace (or in ${ORG_DIR}/); workflows run only from workspace files.`,
        at.file,
        at.step,
        at.key,
      );
    }
  }
  const stat = lstatSync(real);
  if (!stat.isFile()) throw new WorkflowError(`${placeOf(at.file, at.step, at.key)} ${path} is not a regular file.`, at.file, at.step, at.key);
  if (stat.size > MAX_WORKFLOW_BYTES)
    throw new WorkflowError(`${placeOf(at.file, at.step, at.key)} ${path} is larger than ${MAX_WORKFLOW_BYTES} bytes.`, at.file, at.step, at.key);
  return { real, text: readFileSync(real, "utf8") };
}

/**
 * Reads a workflow file and every workflow it nests (by file name, same folder), checks each one's steps
 * and references before anything runs, and refuses a cycle of workflows naming the chain.
 */
export function loadWorkflowGraph(path: string, options: LoadOptions = {}): WorkflowGraph {
  const builder = graphBuilder(options);
  const root = builder.visit(path, [], { file: shownName(path) });
  return builder.graph(root);
}

/**
 * The graph of a workflow held in memory (a plan) as if it were the file `name` in `folder`: the workflows it nests
 * are read from that folder and checked as `loadWorkflowGraph` checks them.
 */
export function workflowGraphOf(workflow: Workflow, folder: string, name: string, options: LoadOptions = {}): WorkflowGraph {
  const builder = graphBuilder(options);
  const root = join(folder, name);
  checkWorkflow(workflow, name, options);
  builder.addSteps(root, workflow, [root]);
  builder.workflows.set(root, workflow);
  return builder.graph(root);
}

/** What both loaders share: reading a file once by real path, its nested workflows after it, the cycle and depth checks. */
function graphBuilder(options: LoadOptions) {
  const workflows = new Map<string, Workflow>();
  const nested = new Map<string, string>();
  const visit = (file: string, stack: string[], at: { file: string; step?: string; key?: string }): string => {
    const { real, text } = readWorkflowFile(file, options, at);
    if (stack.includes(real)) {
      const chain = [...stack.slice(stack.indexOf(real)), real].map(shownName).join(" → ");
      throw new WorkflowError(
        `${placeOf(at.file, at.step, at.key)} a cycle of workflows: ${chain}. A workflow cannot run itself, directly or through others.`,
        at.file,
        at.step,
        at.key,
      );
    }
    if (stack.length >= MAX_DEPTH)
      throw new WorkflowError(`${placeOf(at.file, at.step, at.key)} workflows nest more than ${MAX_DEPTH} deep.`, at.file, at.step, at.key);
    if (workflows.has(real)) return real;
    const shown = shownName(real);
    const workflow = parseWorkflow(text, shown);
    checkWorkflow(workflow, shown, options);
    addSteps(real, workflow, [...stack, real]);
    workflows.set(real, workflow);
    return real;
  };
  const addSteps = (real: string, workflow: Workflow, stack: string[]) => {
    const shown = shownName(real);
    for (const step of workflow.steps) {
      if (step.workflow === undefined) continue;
      nested.set(`${real}#${step.id}`, visit(join(dirname(real), step.workflow), stack, { file: shown, step: step.id, key: "workflow" }));
    }
  };
  const graph = (root: string): WorkflowGraph => {
    const built = { root, workflows, nested };
    checkStepRuns(built, options.maxStepRuns ?? DEFAULT_WORKFLOW_STEP_RUNS);
    return built;
  };
  return { visit, addSteps, graph, workflows };
}

/** The static checks: unique ids, references to inputs that exist and to steps that ran before, usable tools. */
export function checkWorkflow(workflow: Workflow, file: string, options: LoadOptions = {}): void {
  // Typed where it is declared, so that a call narrows what follows it.
  const fail: (message: string, step?: string, key?: string) => never = (message, step, key) => {
    throw new WorkflowError(`${placeOf(file, step, key)} ${message}`, file, step, key);
  };
  const properties = workflow.inputs.properties;
  const inputNames = typeof properties === "object" && properties !== null ? Object.keys(properties) : undefined;
  const ids = workflow.steps.map((step) => step.id);
  const checkReference = (reference: Reference, key: string, step: string | undefined, earlier: readonly string[], inLoop: boolean) => {
    switch (reference.root) {
      case "inputs": {
        const [name] = reference.path;
        if (name === undefined) return;
        if (inputNames && !inputNames.includes(name)) {
          fail(`${reference.text} names no input of this workflow (its inputs: ${inputNames.join(", ") || "none"})`, step, key);
        }
        return;
      }
      case "steps": {
        const [id, output] = reference.path;
        if (id === undefined || output !== "output")
          fail(`${reference.text} must read a step's output: $steps.<id>.output or $steps.<id>.output.<field>`, step, key);
        if (!earlier.includes(id)) {
          fail(
            ids.includes(id)
              ? `${reference.text} reads step "${id}", which does not run before this one; move it earlier`
              : `${reference.text} names no step (steps: ${ids.join(", ")})`,
            step,
            key,
          );
        }
        return;
      }
      case "item":
      case "index":
        if (!inLoop) fail(`${reference.text} is only defined in the inputs of a step with "foreach"`, step, key);
        if (reference.root === "index" && reference.path.length > 0) fail(`$index is a number and has no fields`, step, key);
        return;
    }
  };
  for (const [index, step] of workflow.steps.entries()) {
    const earlier = ids.slice(0, index);
    if (earlier.includes(step.id)) fail(`the id "${step.id}" is used by an earlier step; give each step its own id`, step.id, "id");
    for (const key of ["if_condition", "foreach"] as const) {
      const text = step[key];
      if (text === undefined) continue;
      const reference = wholeReference(text);
      if (!reference) fail(`${JSON.stringify(text)} must be one reference, such as $inputs.flag or $steps.<id>.output.<field>`, step.id, key);
      checkReference(reference, key, step.id, earlier, false);
    }
    for (const { key, reference } of referencesIn(step.inputs, "inputs"))
      checkReference(reference, key, step.id, earlier, step.foreach !== undefined);
    if (step.tool !== undefined) {
      const problem = options.checkTool?.(step.tool);
      if (problem !== undefined) fail(problem, step.id, "tool");
    }
  }
  for (const { key, reference } of referencesIn(workflow.output, "output")) checkReference(reference, key, undefined, ids, false);
}
