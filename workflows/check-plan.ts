import { z } from "zod";
import { checkWorkflow } from "./load-workflow.ts";
import { describeSchema, itemsOf, itemsSchema, misfit, propertiesOf, requiredOf, type Schema, schemaAt, typeOfValue, typesOf } from "./schema-fit.ts";
import { type Workflow, type WorkflowStep, WorkflowError } from "./workflow-file.ts";
import { type Reference, referencesIn, wholeReference } from "./workflow-references.ts";

/** A tool a plan may use, as its metadata describes it. */
export type PlanTool = { inputSchema: Schema; outputSchema: Schema };

/** One thing wrong with a plan: where (step and key), what was expected and what was given. */
export type PlanError = { step?: string; key: string; expected?: string; given?: string; message: string };

/** What a plan is checked against: the tools offered, the saved workflows it may nest, the step bound, the inputs it will run on. */
export type PlanFacts = {
  tools: ReadonlyMap<string, PlanTool>;
  /** Saved workflows by file name (`total.json`), each already checked. */
  workflows: ReadonlyMap<string, Workflow>;
  maxSteps: number;
  inputs?: unknown;
};

/** A plan's error as one line: `step "count", key inputs.text: expected string, given integer`. */
export function planErrorLine(error: PlanError): string {
  const where = `${error.step !== undefined ? `step ${JSON.stringify(error.step)}, ` : ""}key ${error.key}`;
  return `${where}: ${error.message}`;
}

/**
 * Everything `workflow check` checks of a planned workflow, and that its types meet: each reference exists in the
 * schema it reads, and what it feeds fits the input it feeds (an array only into `foreach` or an array input), every
 * required input is fed, `if_condition` is a boolean, only offered tools and known saved workflows are named, at most
 * `maxSteps` steps, and the inputs it will run on fit its inputs schema. Returns every error found; none means it can run.
 */
export function checkPlan(workflow: Workflow, facts: PlanFacts): PlanError[] {
  const errors: PlanError[] = [];
  if (workflow.steps.length > facts.maxSteps)
    errors.push({
      key: "steps",
      expected: `at most ${facts.maxSteps} steps`,
      given: `${workflow.steps.length}`,
      message: `the plan has ${workflow.steps.length} steps; at most ${facts.maxSteps} are allowed (workflow.maxPlanSteps)`,
    });
  for (const step of workflow.steps) errors.push(...unknownCallee(step, facts));
  if (errors.length > 0) return errors;
  try {
    checkWorkflow(workflow, "plan", { checkTool: () => undefined });
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    return [
      {
        ...(error.step !== undefined ? { step: error.step } : {}),
        key: error.key ?? "(plan)",
        message: error.message.replace(/^plan:( step "[^"]*")?(,)?( key [^:]*)?: /, ""),
      },
    ];
  }
  new PlanTypes(workflow, facts, errors).check();
  if (facts.inputs !== undefined) errors.push(...inputErrors(workflow.inputs, facts.inputs));
  return errors;
}

/** A step that names a tool that was not offered (an MCP server's included: none is offered), or a saved workflow there is none of. */
export function unknownCallee(step: WorkflowStep, facts: Pick<PlanFacts, "tools" | "workflows">): PlanError[] {
  if (step.tool !== undefined && !facts.tools.has(step.tool)) {
    const offered = [...facts.tools.keys()].sort().join(", ") || "none";
    return [
      {
        step: step.id,
        key: "tool",
        expected: `one of the tools offered (${offered})`,
        given: step.tool,
        message: `names the tool ${step.tool}, which was not offered; use one of: ${offered}, or list the step under "missing"`,
      },
    ];
  }
  if (step.workflow !== undefined && !facts.workflows.has(step.workflow)) {
    const saved = [...facts.workflows.keys()].sort().join(", ") || "none";
    return [
      {
        step: step.id,
        key: "workflow",
        expected: `a saved workflow (${saved})`,
        given: step.workflow,
        message: `names the workflow ${step.workflow}, which is not saved; saved workflows: ${saved}`,
      },
    ];
  }
  return [];
}

/** The inputs the plan will run on, against its inputs schema. */
function inputErrors(schema: Schema, inputs: unknown): PlanError[] {
  const checked = z.fromJSONSchema(schema).safeParse(inputs);
  if (checked.success) return [];
  return checked.error.issues.map((issue) => ({
    key: ["--inputs", ...issue.path.map(String)].join("."),
    message: `the inputs do not fit the plan's inputs schema: ${issue.message}`,
  }));
}

/** The type reasoning of one workflow: each step's output schema as it goes, each reference read against them. */
class PlanTypes {
  readonly #outputs = new Map<string, Schema>();
  readonly #nestedOutputs = new Map<string, Schema>();
  /** A value read that may be absent or null when the plan runs, and why: it may not be fed where a value is required. */
  readonly #uncertain = new WeakMap<Schema, string>();

  constructor(
    private readonly workflow: Workflow,
    private readonly facts: PlanFacts,
    private readonly errors: PlanError[] | undefined,
  ) {}

  /** Reads every step and the output, collecting errors when given a list; returns the schema of the workflow's `output`. */
  check(): Schema {
    for (const step of this.workflow.steps) this.#step(step);
    return this.#valueSchema(this.workflow.output, undefined, "output", undefined);
  }

  #fail(error: PlanError): void {
    this.errors?.push(error);
  }

  #step(step: WorkflowStep): void {
    const target = this.#calleeSchemas(step);
    let item: Schema | undefined;
    if (step.foreach !== undefined) {
      const list = this.#referenceSchema(step.foreach, step.id, "foreach", undefined);
      const types = typesOf(list);
      if (types && !types.includes("array"))
        this.#fail({
          step: step.id,
          key: "foreach",
          expected: "an array",
          given: describeSchema(list),
          message: `foreach must read an array; ${step.foreach} is ${describeSchema(list)}`,
        });
      item = itemsOf(list);
    }
    if (step.if_condition !== undefined) {
      const condition = this.#referenceSchema(step.if_condition, step.id, "if_condition", undefined);
      const types = typesOf(condition);
      if (types && !types.every((type) => type === "boolean" || type === "null"))
        this.#fail({
          step: step.id,
          key: "if_condition",
          expected: "boolean",
          given: describeSchema(condition),
          message: `if_condition must read a boolean; ${step.if_condition} is ${describeSchema(condition)}`,
        });
    }
    this.#inputs(step, target?.input, item);
    const output = target?.output ?? {};
    this.#outputs.set(step.id, step.foreach !== undefined ? { type: "array", items: output } : output);
  }

  /** The callee's input and output schemas; undefined for an MCP server's tool, whose schemas are the server's. */
  #calleeSchemas(step: WorkflowStep): { input: Schema; output: Schema } | undefined {
    if (step.tool !== undefined) {
      const tool = this.facts.tools.get(step.tool);
      return tool ? { input: tool.inputSchema, output: tool.outputSchema } : undefined;
    }
    const file = step.workflow ?? "";
    const nested = this.facts.workflows.get(file);
    if (!nested) return undefined;
    let output = this.#nestedOutputs.get(file);
    if (output === undefined) {
      // Its errors are not collected: a nested workflow was checked on its own.
      output = new PlanTypes(nested, this.facts, undefined).check();
      this.#nestedOutputs.set(file, output);
    }
    return { input: nested.inputs, output };
  }

  #inputs(step: WorkflowStep, target: Schema | undefined, item: Schema | undefined): void {
    const properties = propertiesOf(target);
    const callee = step.tool ?? step.workflow ?? "";
    for (const [key, value] of Object.entries(step.inputs)) {
      const given = this.#valueSchema(value, step.id, `inputs.${key}`, item);
      if (!properties) continue;
      const expected = properties[key];
      if (expected === undefined || !Object.hasOwn(properties, key)) {
        const takes = Object.keys(properties).join(", ") || "no inputs";
        this.#fail({
          step: step.id,
          key: `inputs.${key}`,
          expected: `one of ${takes}`,
          given: key,
          message: `${callee} takes no input "${key}" (it takes ${takes})`,
        });
        continue;
      }
      const unsure = this.#uncertain.get(given);
      if (unsure !== undefined && requiredOf(target).includes(key)) {
        this.#fail({
          step: step.id,
          key: `inputs.${key}`,
          expected: describeSchema(expected),
          given: `${describeSchema(given)}, or nothing`,
          message: `${callee} requires "${key}", and ${value} may give nothing: ${unsure}`,
        });
        continue;
      }
      const problem = misfit(given, expected);
      if (problem)
        this.#fail({
          step: step.id,
          key: `inputs.${key}`,
          expected: describeSchema(expected),
          given: describeSchema(given),
          message: `${problem}${sourceOf(value)}`,
        });
    }
    for (const key of requiredOf(target)) {
      if (!Object.hasOwn(step.inputs, key))
        this.#fail({
          step: step.id,
          key: `inputs.${key}`,
          expected: describeSchema(properties?.[key] ?? {}),
          given: "nothing",
          message: `${callee} requires the input "${key}", and the step does not feed it`,
        });
    }
  }

  /** The schema of a literal or reference value, every reference in it read (and a missing field reported where it sits). */
  #valueSchema(value: unknown, step: string | undefined, key: string, item: Schema | undefined): Schema {
    if (typeof value === "string") {
      const whole = wholeReference(value);
      if (whole) return this.#read(whole, step, key, item);
      const embedded = referencesIn(value, key);
      for (const found of embedded) this.#read(found.reference, step, key, item);
      return embedded.length > 0 ? { type: "string" } : { type: "string", const: value };
    }
    if (Array.isArray(value)) return itemsSchema(value.map((entry, index) => this.#valueSchema(entry, step, `${key}[${index}]`, item)));
    if (typeof value === "object" && value !== null) {
      const properties = Object.fromEntries(
        Object.entries(value).map(([name, entry]) => [name, this.#valueSchema(entry, step, `${key}.${name}`, item)]),
      );
      return { type: "object", properties, required: Object.keys(properties) };
    }
    return { type: typeOfValue(value), const: value };
  }

  #referenceSchema(text: string, step: string, key: string, item: Schema | undefined): Schema {
    const reference = wholeReference(text);
    return reference ? this.#read(reference, step, key, item) : {};
  }

  /**
   * The schema a reference reads; `{}` after reporting when the field is not there. A value that may be absent (a field
   * not required on the way, a plan input not required) or null (the output of a step with an if_condition, read by a
   * step without that same condition) is marked uncertain.
   */
  #read(reference: Reference, step: string | undefined, key: string, item: Schema | undefined): Schema {
    const at = (schema: Schema, path: readonly string[], what: string, unsure?: string): Schema => {
      const found = schemaAt(schema, path);
      if (!found.ok) {
        this.#fail({
          ...(step !== undefined ? { step } : {}),
          key,
          given: reference.text,
          message: `${reference.text} reads nothing: ${what} ${found.problem.replace(/^it /, "")}`,
        });
        return {};
      }
      const why = unsure ?? (found.optional !== undefined ? `in ${what.replace(/:$/, "")}, ${found.optional}` : undefined);
      if (why === undefined) return found.schema;
      const marked = { ...found.schema };
      this.#uncertain.set(marked, why);
      return marked;
    };
    switch (reference.root) {
      case "inputs": {
        if (reference.path.length > 0 && propertiesOf(this.workflow.inputs) === undefined) {
          this.#fail({
            ...(step !== undefined ? { step } : {}),
            key,
            given: reference.text,
            message: `${reference.text} reads an input the plan's inputs schema does not declare: give "inputs" its "properties"`,
          });
          return {};
        }
        return at(this.workflow.inputs, reference.path, "the workflow's inputs:");
      }
      case "steps": {
        const [id = "", , ...fields] = reference.path;
        const producer = this.workflow.steps.find((entry) => entry.id === id);
        const reader = this.workflow.steps.find((entry) => entry.id === step);
        const skippable =
          producer?.if_condition !== undefined && reader?.if_condition !== producer.if_condition
            ? `step "${id}" runs only if ${producer.if_condition}, and its output is null when it does not`
            : undefined;
        return at(this.#outputs.get(id) ?? {}, fields, `the output of step "${id}":`, skippable);
      }
      case "item":
        return at(item ?? {}, reference.path, "the foreach item:");
      case "index":
        return { type: "integer" };
    }
  }
}

/** ` (from $steps.x.output.y)` when the value fed is one reference. */
function sourceOf(value: unknown): string {
  return typeof value === "string" && wholeReference(value) ? ` (from ${value})` : "";
}
