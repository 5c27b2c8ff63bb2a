import { z } from "zod";
import { RecordedModelFields } from "../llm/recorded-model.ts";
import { TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { OBJECT_ID_PATTERN } from "../git/ref-names.ts";

// fitness/ checks tool names through this module.
export { TOOL_NAME_PATTERN };

/** A metadata.json beyond this is refused unread: the schema allows long fields, not megabytes. */
export const MAX_METADATA_BYTES = 256 * 1024;

/** A JSON Schema object (the model writes it); it must be one zod can turn into a validator. */
export const JsonSchemaObject = z.record(z.string(), z.unknown()).superRefine((schema, context) => {
  try {
    z.fromJSONSchema(schema);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    context.addIssue({ code: "custom", message: `is not a JSON Schema org can check values against (${detail})` });
  }
});

export const ToolExample = z.strictObject({ input: z.unknown(), output: z.unknown() });
export type ToolExample = z.infer<typeof ToolExample>;

/** What a generated tool may reach; nothing beyond this is granted (no network in this version). */
export const ToolCapabilities = z.strictObject({
  network: z.literal(false),
  filesystem: z.enum(["none", "scratch"]),
});
export type ToolCapabilities = z.infer<typeof ToolCapabilities>;

/** The `submit_spec` arguments: what the tool is called, takes, returns and may touch. */
export const ToolSpec = z.strictObject({
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
export type ToolSpec = z.infer<typeof ToolSpec>;

/** `submit_implementation` and `submit_tests` both carry one TypeScript source. */
export const SourceSubmission = z.strictObject({ code: z.string().min(1).max(100_000) });
export type SourceSubmission = z.infer<typeof SourceSubmission>;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256");
const Timestamp = z.iso.datetime();

export const VALIDATION_STAGES = ["policy", "typecheck", "tests", "mutants", "examples", "determinism"] as const;
export const ValidationStage = z.enum(VALIDATION_STAGES);
export type ValidationStage = z.infer<typeof ValidationStage>;

export const StageTiming = z.strictObject({ stage: ValidationStage, ok: z.boolean(), durationMs: z.number().min(0) });
export type StageTiming = z.infer<typeof StageTiming>;

export const PHASES = ["spec", "implementation", "tests"] as const;
export const Phase = z.enum(PHASES);
export type Phase = z.infer<typeof Phase>;

/** One phase's model calls: which model at which server, the prompts' hashes, how many tries. */
export const PhaseProvenance = z.strictObject({
  phase: Phase,
  ...RecordedModelFields,
  promptSha256: z.array(Sha256),
  attempts: z.number().int().min(1),
  startedAt: Timestamp,
  finishedAt: Timestamp,
});
export type PhaseProvenance = z.infer<typeof PhaseProvenance>;

/** `tools/generated/<name>/metadata.json`: validated with this schema on every read. */
export const ToolMetadata = z.strictObject({
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
export type ToolMetadata = z.infer<typeof ToolMetadata>;

/** A metadata.json that is not JSON or does not fit the schema; the message names the fields. */
export class ToolMetadataError extends Error {
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
  const parsed = ToolMetadata.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  throw new ToolMetadataError(`${source}: metadata does not fit the schema (${problems.join("; ")}). Regenerate the tool with 'tool new'.`);
}

/** The lowercase hex sha256 of a file's content, as metadata.json records it. */
export function sha256Hex(content: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(content).digest("hex");
}
