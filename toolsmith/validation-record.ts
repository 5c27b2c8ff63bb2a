import { join } from "node:path";
import { z } from "zod";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { canonicalJson, FITNESS_DIR } from "../git/gate-key.ts";
import { codeIdentity } from "../git/code-identity.ts";
import { readSignedRecord, writeSignedRecord } from "../git/signed-records.ts";
import { sha256Hex, type ToolExample, type ToolSpec } from "../generated-tools/tool-metadata.ts";
import type { ValidationReport } from "./validate-tool.ts";

/** `.org/fitness/validated/<key>.json`: a validation this checkout's toolsmith passed, signed with the gate key. */
export const VALIDATED_DIR = join(FITNESS_DIR, "validated");
const KEPT = 64;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Count = z.number().int().min(0);
const ValidationRecord = z.strictObject({
  version: z.literal(1),
  key: Sha256,
  tool: z.string().max(200),
  validatedAt: z.string().max(40),
  tests: z.strictObject({ passed: Count, failed: Count }),
  coverage: z.number().min(0).max(1),
  mutants: z.strictObject({ total: Count, killed: Count, score: z.number().min(0).max(1) }),
  determinismRuns: Count,
  heldOutExamples: Count,
});
export type ValidationRecord = z.infer<typeof ValidationRecord>;

/** What a validation's outcome depends on besides the code that runs it. */
export type ValidatedInput = { spec: ToolSpec; heldOut: ToolExample[]; toolCode: string; testCode: string; settings: ToolsmithSettings };

/**
 * The key of one validation: the validator's identity, and everything the validation is given (the spec with its
 * examples, which of them are held out, both sources, the toolsmith's settings).
 */
export function validationKey(input: ValidatedInput, checkoutDir: string = CHECKOUT_DIR): string {
  const validator = codeIdentity(checkoutDir);
  const { spec, heldOut, toolCode, testCode, settings } = input;
  return sha256Hex(canonicalJson({ version: 1, validator, spec, heldOut, tool: sha256Hex(toolCode), tests: sha256Hex(testCode), settings }));
}

/**
 * Records, signed with the gate key of `repoDir`, that a validation passed by the code of `checkoutDir` (the checkout
 * org runs from), and keeps the newest few records. Whether it was recorded: a checkout whose gate key or folder
 * cannot be used records nothing, and the gate then validates again, as it would without a record.
 */
export function recordValidation(repoDir: string, input: ValidatedInput, report: ValidationReport, checkoutDir: string = CHECKOUT_DIR): boolean {
  if (!report.ok) return false;
  try {
    const key = validationKey(input, checkoutDir);
    const record = ValidationRecord.parse({
      version: 1,
      key,
      tool: input.spec.name,
      validatedAt: new Date().toISOString(),
      tests: report.tests,
      coverage: report.coverage,
      mutants: report.mutants,
      determinismRuns: report.determinismRuns,
      heldOutExamples: report.heldOutExamples,
    });
    writeSignedRecord(repoDir, VALIDATED_DIR, key, record, KEPT);
    return true;
  } catch {
    return false;
  }
}

/**
 * The passed validation of exactly `input` by this code, recorded by this checkout's toolsmith and signed with its
 * gate key, or undefined: none, unsigned, signed by another key, malformed, or made by other code.
 */
export function readValidationRecord(repoDir: string, input: ValidatedInput, checkoutDir: string = CHECKOUT_DIR): ValidationRecord | undefined {
  let key: string;
  try {
    key = validationKey(input, checkoutDir);
  } catch {
    return undefined;
  }
  const record = readSignedRecord(repoDir, VALIDATED_DIR, key, ValidationRecord);
  return record?.key === key && record.tool === input.spec.name ? record : undefined;
}
