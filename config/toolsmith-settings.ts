import { z } from "zod";

/** The toolsmith's bounds and thresholds; every field has a default. */
export const ToolsmithSettings = z.strictObject({
  /** Line coverage of tool.ts the tests must reach (fraction). */
  coverage: z.number().min(0).max(1).default(0.8),
  /** Share of mutants the tests must catch. */
  mutationScore: z.number().min(0).max(1).default(0.6),
  /** How many mutants are made (at most; fewer when the code has fewer places to change). */
  mutants: z.number().int().min(1).max(64).default(10),
  /** Repair rounds of the implementation after a failed validation. */
  implementationRepairs: z.number().int().min(0).max(10).default(3),
  /** Rounds of the tests phase after tests found weak. */
  testRepairs: z.number().int().min(0).max(5).default(1),
  /** Times a phase's call is asked again when its arguments do not fit. */
  argumentRetries: z.number().int().min(0).max(5).default(2),
  /** How long one call of the tool may take in validation. */
  toolTimeoutMs: z.number().int().positive().default(3_000),
  /** How long the tests (and each mutant's tests) may take. */
  testTimeoutMs: z.number().int().positive().default(20_000),
  /** Share of the examples held out of the implementation prompt (at least one is). */
  heldOutShare: z.number().min(0).max(0.9).default(0.34),
});
export type ToolsmithSettings = z.infer<typeof ToolsmithSettings>;
export type ToolsmithSettingsInput = z.input<typeof ToolsmithSettings>;
