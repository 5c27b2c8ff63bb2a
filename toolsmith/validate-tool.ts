import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { StageTiming, ToolExample, ToolSpec, ValidationStage } from "../generated-tools/tool-metadata.ts";
import { makeMutants } from "./mutants.ts";
import { canonicalJson, mutantsStage, outputForModel, runnerStage, testsStage, typecheckStage, validationDirs } from "./sandbox-stages.ts";
import { checkStaticPolicy } from "./static-policy.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";

/** Why validation stopped, and which phase must answer it: the implementation, or (weak tests) the tests. */
export type ValidationFailure = { stage: ValidationStage; blame: "implementation" | "tests"; message: string };

export type ValidationReport = {
  ok: boolean;
  stages: StageTiming[];
  failure?: ValidationFailure;
  tests: { passed: number; failed: number };
  coverage: number;
  mutants: { total: number; killed: number; score: number };
  heldOutExamples: number;
  determinismRuns: number;
};

/** Progress of a validation: a stage starting, as `index` of `total`. */
export type StageEvent = { stage: ValidationStage; index: number; total: number };

/**
 * Validates a generated tool, cheapest stage first, stopping at the first failure: static policy on the syntax
 * tree, typecheck (native compiler), tests with line coverage, mutants, held-out examples through the fixed
 * runner, determinism (fresh processes). Everything that runs code runs in the sandbox, without network.
 */
export async function validateTool(request: {
  runDir: string;
  spec: ToolSpec;
  heldOut: ToolExample[];
  toolCode: string;
  testCode: string;
  settings: ToolsmithSettings;
  signal?: AbortSignal;
  onStage?: (event: StageEvent) => void;
}): Promise<ValidationReport> {
  const { spec, settings, signal } = request;
  const stageNames: ValidationStage[] = ["policy", "typecheck", "tests", "mutants", "examples", ...(spec.deterministic ? (["determinism"] as const) : [])];
  const report: ValidationReport = {
    ok: false,
    stages: [],
    tests: { passed: 0, failed: 0 },
    coverage: 0,
    mutants: { total: 0, killed: 0, score: 0 },
    heldOutExamples: request.heldOut.length,
    determinismRuns: 0,
  };
  rmSync(request.runDir, { recursive: true, force: true });
  const dirs = validationDirs(request.runDir);
  writeFileSync(join(dirs.tool, "tool.ts"), request.toolCode);
  writeFileSync(join(dirs.tool, "tool.test.ts"), request.testCode);
  let testsDurationMs = 0;
  let firstRound: Awaited<ReturnType<typeof runnerStage>>[number] = [];
  const allExamples = [...request.heldOut, ...spec.examples.filter((example) => !request.heldOut.includes(example))];

  // Each stage returns undefined when it passes, or the failure.
  const stages: Record<ValidationStage, () => Promise<ValidationFailure | undefined>> = {
    policy: async () => {
      const toolProblems = checkStaticPolicy(request.toolCode, "tool");
      if (toolProblems.length > 0) return { stage: "policy", blame: "implementation", message: toolProblems.join("\n") };
      const testProblems = checkStaticPolicy(request.testCode, "tests");
      if (testProblems.length > 0) return { stage: "policy", blame: "tests", message: testProblems.join("\n") };
    },
    typecheck: async () => {
      const result = await typecheckStage(dirs, signal);
      if (!result.ok) return { stage: "typecheck", blame: result.onlyTests ? "tests" : "implementation", message: `type errors:\n${result.output}` };
    },
    tests: async () => {
      const started = performance.now();
      const result = await testsStage(dirs, settings.testTimeoutMs, signal);
      testsDurationMs = performance.now() - started;
      report.tests = { passed: result.passed, failed: result.failed };
      report.coverage = result.coverage;
      if (!result.ok) return { stage: "tests", blame: "implementation", message: `the tests failed:\n${result.output}` };
      if (result.unreadable) return { stage: "tests", blame: "tests", message: `${result.unreadable}. Write nothing into /scratch/coverage.` };
      if (result.coverage < settings.coverage) {
        return {
          stage: "tests",
          blame: "tests",
          message: `the tests cover ${percent(result.coverage)} of the lines of tool.ts; at least ${percent(settings.coverage)} is required. Test every branch.`,
        };
      }
    },
    mutants: async () => {
      const mutants = makeMutants(request.toolCode, settings.mutants);
      // A mutant may loop forever: give each a few times what the real tests took, then count it as caught.
      const perMutantMs = Math.min(settings.testTimeoutMs, Math.max(3_000, 5 * testsDurationMs));
      const result = await mutantsStage(dirs, mutants, perMutantMs, signal);
      report.mutants = { total: result.total, killed: result.killed, score: result.score };
      if (result.total === 0 || result.score < settings.mutationScore) {
        return {
          stage: "mutants",
          blame: "tests",
          message: `the tests caught ${result.killed} of ${result.total} changed copies of tool.ts (need ${percent(settings.mutationScore)}). Not caught:\n${result.survivors.slice(0, 8).join("\n")}\nAssert exact outputs, boundaries and every branch.`,
        };
      }
    },
    examples: async () => {
      const outcomes = await runnerStage(
        dirs,
        spec.input_schema,
        allExamples.map((example) => example.input),
        1,
        settings.toolTimeoutMs,
        signal,
      );
      firstRound = outcomes[0] ?? [];
      for (const [index, example] of allExamples.entries()) {
        const outcome = firstRound[index];
        const heldOut = index < request.heldOut.length;
        const input = outputForModel(JSON.stringify(example.input), 300);
        if (!outcome?.ok) {
          return {
            stage: "examples",
            blame: "implementation",
            message: `for the input ${input} the tool failed: ${outputForModel(outcome?.error ?? "no result", 600)}`,
          };
        }
        const shape = z.fromJSONSchema(spec.output_schema).safeParse(outcome.output);
        if (!shape.success) {
          const issues = shape.error.issues.map((issue) => `${issue.path.join(".") || "(output)"}: ${issue.message}`).join("; ");
          return {
            stage: "examples",
            blame: "implementation",
            message: `for the input ${input} the output does not match the output schema: ${outputForModel(issues, 600)}`,
          };
        }
        if (!spec.deterministic) continue;
        if (canonicalJson(outcome.output) !== canonicalJson(example.output)) {
          const got = outputForModel(JSON.stringify(outcome.output), 300);
          return {
            stage: "examples",
            blame: "implementation",
            // A held-out example's expected output stays hidden, so the next round cannot special-case it.
            message: heldOut
              ? `an example you were not shown fails: for the input ${input} the tool returned ${got}, which is wrong. Implement the rule the description states, not the examples.`
              : `for the input ${input} the tool returned ${got}, expected ${outputForModel(JSON.stringify(example.output), 300)}`,
          };
        }
      }
    },
    determinism: async () => {
      const later = await runnerStage(
        dirs,
        spec.input_schema,
        allExamples.map((example) => example.input),
        2,
        settings.toolTimeoutMs,
        signal,
      );
      report.determinismRuns = 3;
      for (const [index, example] of allExamples.entries()) {
        const runs = [firstRound[index], later[0]?.[index], later[1]?.[index]].map((outcome) => canonicalJson(outcome));
        if (new Set(runs).size !== 1) {
          return {
            stage: "determinism",
            blame: "implementation",
            message: `the spec says deterministic, but three runs on ${outputForModel(JSON.stringify(example.input), 300)} gave different results: ${outputForModel(runs.join(" | "), 600)}. Do not use time, randomness or anything outside the input.`,
          };
        }
      }
    },
  };

  try {
    for (const [index, stage] of stageNames.entries()) {
      request.onStage?.({ stage, index: index + 1, total: stageNames.length });
      const started = performance.now();
      const failure = await stages[stage]();
      report.stages.push({ stage, ok: failure === undefined, durationMs: Math.round(performance.now() - started) });
      if (failure) return { ...report, failure };
    }
    return { ...report, ok: true };
  } finally {
    rmSync(request.runDir, { recursive: true, force: true });
  }
}

const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;
