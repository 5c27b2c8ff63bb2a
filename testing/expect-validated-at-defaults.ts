import { expect } from "bun:test";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { parseToolMetadata } from "../generated-tools/tool-metadata.ts";
import { gitSync } from "./temp-git-repo.ts";

/**
 * The validation a landed tool records (`tools/generated/<name>/metadata.json` on `branch`) passed every stage at the
 * default thresholds: coverage, mutation score with at least 10 mutants, and a held-out example.
 */
export function expectValidatedAtDefaults(repoDir: string, branch: string, name: string): void {
  const defaults = ToolsmithSettings.parse({});
  const { validation } = parseToolMetadata(gitSync(repoDir, ["show", `${branch}:tools/generated/${name}/metadata.json`]), "metadata.json");
  expect(validation.stages.map((stage) => stage.stage)).toEqual(["policy", "typecheck", "tests", "mutants", "examples", "determinism"]);
  expect(validation.coverage.lines).toBeGreaterThanOrEqual(defaults.coverage);
  expect(validation.mutants.total).toBeGreaterThanOrEqual(10);
  expect(validation.mutants.killed / validation.mutants.total).toBeGreaterThanOrEqual(defaults.mutationScore);
  expect(validation.heldOutExamples).toBeGreaterThanOrEqual(1);
}
