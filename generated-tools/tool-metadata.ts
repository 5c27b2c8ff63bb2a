import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { RecordedModelFields } from "../llm/recorded-model.ts";
import { TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { OBJECT_ID_PATTERN } from "../git/ref-names.ts";
import { OrgError } from "../errors/org-error.ts";

// fitness/ checks tool names through this module.
export { TOOL_NAME_PATTERN };

/** A metadata.json beyond this is refused unread: the schema allows long fields, not megabytes. */
export const MAX_METADATA_BYTES = 256 * 1024;

export const VALIDATION_STAGES = ["policy", "typecheck", "tests", "mutants", "examples", "determinism"] as const;
export const PHASES = ["spec", "implementation", "tests"] as const;

/** A generated tool's spec as the toolsmith submits it, and its source submissions. */
function specSchemas() {
  /** A JSON Schema object (the model writes it); it must be one zod can turn into a validator. */
  const JsonSchemaObject = z.record(z.string(), z.unknown()).superRefine((schema, context) => {
    try {
      z.fromJSONSchema(schema);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      context.addIssue({ code: "custom", message: `is not a JSON Schema org can check values against (${detail})` });
    }
  });

  const ToolExample = z.strictObject({ input: z.unknown(), output: z.unknown() });

  /** What a generated tool may reach; nothing beyond this is granted (no network in this version). */
  const ToolCapabilities = z.strictObject({
    network: z.literal(false),
    filesystem: z.enum(["none", "scratch"]),
  });

  /** The `submit_spec` arguments: what the tool is called, takes, returns and may touch. */
  const ToolSpec = z.strictObject({
    name: z.string().regex(TOOL_NAME_PATTERN, "must be snake_case: a lowercase letter, then 1–47 lowercase letters, digits or _"),
    description: z.string().min(10).max(1_000),
    input_schema: JsonSchemaObject.refine((schema) => schema.type === "object", {
      message: 'must be a JSON Schema with "type": "object" (tools take named arguments)',
    }),
    output_schema: JsonSchemaObject,
    examples: z.array(ToolExample).min(2).max(20),
    deterministic: z.boolean(),
    capabilities: ToolCapabilities,
  });

  /** `submit_implementation` and `submit_tests` both carry one TypeScript source. */
  const SourceSubmission = z.strictObject({ code: z.string().min(1).max(100_000) });
  return { JsonSchemaObject, ToolExample, ToolCapabilities, ToolSpec, SourceSubmission };
}

/** What metadata.json records beside the spec: the files' hashes, the validation, the sandbox, the provenance. */
function recordSchemas(spec: ReturnType<typeof specSchemas>) {
  const { ToolSpec, ToolCapabilities } = spec;
  const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256");
  const Timestamp = z.iso.datetime();

  const ValidationStage = z.enum(VALIDATION_STAGES);

  const StageTiming = z.strictObject({ stage: ValidationStage, ok: z.boolean(), durationMs: z.number().min(0) });

  const Phase = z.enum(PHASES);

  /** One phase's model calls: which model at which server, the prompts' hashes, how many tries. */
  const PhaseProvenance = z.strictObject({
    phase: Phase,
    ...RecordedModelFields,
    promptSha256: z.array(Sha256),
    attempts: z.number().int().min(1),
    startedAt: Timestamp,
    finishedAt: Timestamp,
  });

  /** `tools/generated/<name>/metadata.json`: validated with this schema on every read. */
  const ToolMetadata = z.strictObject({
    version: z.literal(1),
    spec: ToolSpec,
    files: z.strictObject({ "tool.ts": Sha256, "tool.test.ts": Sha256 }),
    validation: z.strictObject({
      stages: z.array(StageTiming),
      tests: z.strictObject({ passed: z.number().int().min(0), failed: z.number().int().min(0) }),
      coverage: z.strictObject({ lines: z.number().min(0).max(1), threshold: z.number().min(0).max(1) }),
      mutants: z.strictObject({
        total: z.number().int().min(0),
        killed: z.number().int().min(0),
        score: z.number().min(0).max(1),
        threshold: z.number().min(0).max(1),
      }),
      heldOutExamples: z.number().int().min(1),
      determinismRuns: z.number().int().min(0),
    }),
    sandbox: z.strictObject({
      network: z.literal(false),
      capabilities: ToolCapabilities,
      timeoutMs: z.number().int().positive(),
      memoryBytes: z.number().int().positive(),
    }),
    provenance: z.strictObject({
      phases: z.array(PhaseProvenance),
      attempts: z.number().int().min(1),
      repairRounds: z.number().int().min(0),
      startedAt: Timestamp,
      finishedAt: Timestamp,
      // The commit of org that built the tool (SHA-1 or, in a SHA-256 repository, SHA-256).
      orgCommit: z.string().regex(OBJECT_ID_PATTERN).nullable(),
    }),
  });
  return { ValidationStage, StageTiming, Phase, PhaseProvenance, ToolMetadata };
}

/**
 * The generated tool's schemas, made on first use: a start with no promoted tool (and every command that reads no
 * metadata.json) never builds them.
 */
export const toolMetadataSchemas = onFirstUse(() => {
  const spec = specSchemas();
  return { ...spec, ...recordSchemas(spec) };
});
type Schemas = ReturnType<typeof toolMetadataSchemas>;
export type ToolExample = z.infer<Schemas["ToolExample"]>;
export type ToolCapabilities = z.infer<Schemas["ToolCapabilities"]>;
export type ToolSpec = z.infer<Schemas["ToolSpec"]>;
export type SourceSubmission = z.infer<Schemas["SourceSubmission"]>;
export type ValidationStage = z.infer<Schemas["ValidationStage"]>;
export type StageTiming = z.infer<Schemas["StageTiming"]>;
export type Phase = z.infer<Schemas["Phase"]>;
export type PhaseProvenance = z.infer<Schemas["PhaseProvenance"]>;
export type ToolMetadata = z.infer<Schemas["ToolMetadata"]>;

/** A metadata.json that is not JSON or does not fit the schema; the message names the fields. */
export class ToolMetadataError extends OrgError {
  override name = "ToolMetadataError";
}

/** Parses and validates metadata.json text; `source` names the file or ref in the error. */
export function parseToolMetadata(text: string, source: string): ToolMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ToolMetadataError(
      `${source}: not valid JSON (${error instanceof Error ? error.message : String(error)}). Regenerate the tool with 'tool new'.`,
    );
  }
  const parsed = toolMetadataSchemas().ToolMetadata.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  throw new ToolMetadataError(`${source}: metadata does not fit the schema (${problems.join("; ")}). Regenerate the tool with 'tool new'.`);
}

/** The lowercase hex sha256 of a file's content, as metadata.json records it. */
export function sha256Hex(content: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(content).digest("hex");
}
