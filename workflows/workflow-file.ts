import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { isMcpRoomToolName } from "../config/mcp-servers.ts";
import { TOOL_NAME_PATTERN, toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { WORKFLOW_FILE_NAME_PATTERN } from "../config/workspace-paths.ts";
import { OrgError } from "../errors/org-error.ts";

/** A step's id: what `$steps.<id>.output` names. */
export const STEP_ID_PATTERN = /^[a-z][a-z0-9_]{0,47}$/;
/** A nested workflow is named by a plain file name in the same folder: no path, no `..`. */
export const WORKFLOW_FILE_PATTERN = WORKFLOW_FILE_NAME_PATTERN;

/** The workflow file's schemas, made on first use: a room whose workflows are never read never builds them. */
export const workflowSchemas = onFirstUse(() => {
  const { JsonSchemaObject } = toolMetadataSchemas();
  const WorkflowStep = z
    .strictObject({
      id: z.string().regex(STEP_ID_PATTERN, "must be snake_case: a lowercase letter, then up to 47 lowercase letters, digits or _"),
      tool: z
        .string()
        .refine(
          (name) => TOOL_NAME_PATTERN.test(name) || isMcpRoomToolName(name),
          "must be a generated tool's name (snake_case) or an MCP server's tool (<server>__<tool>)",
        )
        .optional(),
      workflow: z.string().regex(WORKFLOW_FILE_PATTERN, "must be a .json file name in the same folder (no path)").optional(),
      inputs: z.record(z.string(), z.unknown()).default({}),
      if_condition: z.string().startsWith("$", "must be a reference such as $inputs.flag").optional(),
      foreach: z.string().startsWith("$", "must be a reference such as $steps.split.output.items").optional(),
    })
    .refine((step) => (step.tool === undefined) !== (step.workflow === undefined), {
      message: 'needs exactly one of "tool" or "workflow"',
      path: ["tool"],
    });

  /** A run a saved workflow was seen to make: the gate runs it again on both instances and expects the same output. */
  const WorkflowExample = z.strictObject({ inputs: z.record(z.string(), z.unknown()), output: z.unknown() });

  /** A workflow file: its inputs (a JSON Schema object), the steps in order, and what it outputs. */
  const Workflow = z.strictObject({
    name: z.string().min(1).max(100),
    description: z.string().max(2_000).optional(),
    /** The goal it was planned from (`org workflow plan --save`). */
    goal: z.string().max(2_000).optional(),
    /** Runs it made, which the fitness gate repeats on a candidate that brings or changes it. */
    examples: z.array(WorkflowExample).max(20).optional(),
    inputs: JsonSchemaObject.refine((schema) => schema.type === "object", { message: 'must be a JSON Schema with "type": "object"' }),
    steps: z.array(WorkflowStep).min(1).max(200),
    output: z.unknown(),
  });
  return { WorkflowStep, WorkflowExample, Workflow };
});
type Schemas = ReturnType<typeof workflowSchemas>;
export type WorkflowStep = z.infer<Schemas["WorkflowStep"]>;
export type WorkflowExample = z.infer<Schemas["WorkflowExample"]>;
export type Workflow = z.infer<Schemas["Workflow"]>;

/** A workflow that cannot run as written; `step` and `key` say where. */
export class WorkflowError extends OrgError {
  override name = "WorkflowError";
  constructor(
    message: string,
    readonly file: string,
    readonly step?: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** Where in a workflow a problem is: `file: step "count" (steps[1]), key inputs.text:`. */
export function placeOf(file: string, step?: string, key?: string): string {
  return `${file}:${
    step !== undefined ? ` step ` + `${JSON.stringify(step)}` : ""
  }${key !== undefined ? `${step !== undefined ? "," : ""} key ${key}` : ""}:`;
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === "number" ? `${text}[${part}]` : text === "" ? String(part) : `${text}.${String(part)}`),
    "",
  );
}

/** Parses and validates a workflow file's text; errors name the step (by id when it has one) and the key. */
export function parseWorkflow(text: string, file: string): Workflow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WorkflowError(
      `${file}: not valid JSON (${error instanceof Error ? error.message : String(error)}). Fix the file and run 'org workflow check' again.`,
      file,
    );
  }
  const parsed = workflowSchemas().Workflow.safeParse(value);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  if (!issue) throw new WorkflowError(`${file}: does not fit the workflow schema. Fix the file and run 'org workflow check' again.`, file);
  const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
  if (path[0] === "steps" && typeof path[1] === "number") {
    const steps: unknown = typeof value === "object" && value !== null && "steps" in value ? value.steps : undefined;
    const raw: unknown = Array.isArray(steps) ? steps[path[1]] : undefined;
    const id = typeof raw === "object" && raw !== null && "id" in raw && typeof raw.id === "string" ? raw.id : `steps[${path[1]}]`;
    const key = keyPath(path.slice(2)) || "(step)";
    throw new WorkflowError(`${placeOf(file, id, key)} ${issue.message}`, file, id, key);
  }
  const key = keyPath(path) || "(top level)";
  throw new WorkflowError(`${placeOf(file, undefined, key)} ${issue.message}`, file, undefined, key);
}
