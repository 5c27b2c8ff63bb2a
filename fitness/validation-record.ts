import { join } from "node:path";
import { z } from "zod";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { FITNESS_DIR } from "./gate-key.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { codeIdentity } from "./code-identity.ts";
import { readSignedRecord, writeSignedRecord } from "./signed-records.ts";
import { sha256Hex } from "../generated-tools/tool-metadata.ts";
import type { ValidatedInput, ValidationReport } from "../toolsmith/validate-tool.ts";

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

/**
 * The key of one validation: the validator's identity, and everything the validation is given (the spec with its
 * examples, which of them are held out, both sources, the toolsmith's settings).
 */
export function validationKey(input: ValidatedInput, code: CodeOptions = {}): string {
  const validator =
    code.identity ?? codeIdentity(code.checkoutDir ?? CHECKOUT_DIR, code.unchangedSince === undefined ? {} : { unchangedSince: code.unchangedSince });
  const { spec, heldOut, toolCode, testCode, settings } = input;
  // Every setting but the repair rounds and retries of the model's phases, which change no verdict; a setting added
  // later counts until it is named here.
  const { implementationRepairs: _implementation, testRepairs: _tests, argumentRetries: _retries, ...judging } = settings;
  return sha256Hex(canonicalJson({ version: 2, validator, spec, heldOut, tool: sha256Hex(toolCode), tests: sha256Hex(testCode), settings: judging }));
}

/**
 * Whose code validates: the checkout org runs from (default), and for a record, the time org's process began; or
 * its `identity` (`codeIdentity`) when the caller has it already.
 */
export type CodeOptions = { checkoutDir?: string; unchangedSince?: number; identity?: string };

/**
 * Records, signed with the gate key of `repoDir`, that a validation passed by the code of the checkout org runs
 * from (`code`), and keeps the newest few records. Whether it was recorded: a checkout whose gate key or folder
 * cannot be used records nothing, and the gate then validates again, as it would without a record.
 */
export function recordValidation(repoDir: string, input: ValidatedInput, report: ValidationReport, code: CodeOptions = {}): boolean {
  if (!report.ok) return false;
  try {
    // Code changed on disk since this process began is not the code that validated: then nothing is recorded.
    const key = validationKey(input, { unchangedSince: performance.timeOrigin, ...code });
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
export function readValidationRecord(repoDir: string, input: ValidatedInput, code: CodeOptions = {}): ValidationRecord | undefined {
  let key: string;
  try {
    key = validationKey(input, code);
  } catch {
    return undefined;
  }
  const record = readSignedRecord(repoDir, VALIDATED_DIR, key, ValidationRecord);
  if (record?.tool !== input.spec.name) return undefined;
  // A record's figures must themselves pass today's thresholds: a signature is not taken on trust alone.
  const { settings } = input;
  const passes =
    record.tests.failed === 0 &&
    record.tests.passed > 0 &&
    record.coverage >= settings.coverage &&
    record.mutants.total > 0 &&
    record.mutants.score >= settings.mutationScore &&
    record.heldOutExamples === input.heldOut.length;
  return passes ? record : undefined;
}
