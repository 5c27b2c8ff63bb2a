import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StageTiming, ToolExample, ToolSpec } from "../generated-tools/tool-metadata.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { type RunnerOutcome, type ValidationDirs, validationDirs } from "./sandbox-stages.ts";
import { runStagesInOrder, type StageEvent, type StageTask, type ValidationFailure, type ValidationFigures } from "./stage-order.ts";
import { checkDeterminism, checkExamples, checkMutants, checkPolicy, checkTests, checkTypes } from "./validation-checks.ts";

export type ValidationReport = ValidationFigures & {
  ok: boolean;
  stages: StageTiming[];
  failure?: ValidationFailure;
  heldOutExamples: number;
};

/** What a validation's outcome depends on besides the code that runs it. */
export type ValidatedInput = { spec: ToolSpec; heldOut: ToolExample[]; toolCode: string; testCode: string; settings: ToolsmithSettings };

/** What `validateTool` is asked to judge, and how: every stage runs in `sandbox` under `sandboxPolicy`. */
export type ValidationRequest = SandboxAccess &
  ValidatedInput & {
    runDir: string;
    signal?: AbortSignal;
    onStage?: (event: StageEvent) => void;
  };

/**
 * Validates a generated tool, stopping at the first failure in this order: static policy on the syntax tree,
 * typecheck (native compiler), tests with line coverage, mutants, held-out examples through the fixed runner,
 * determinism (fresh processes). Everything that runs code runs in the sandbox, without network. The policy comes
 * first and alone; after it, stages that need nothing of each other run at once (`validationTasks`), and the
 * report is the one running them one by one would give.
 */
export async function validateTool(request: ValidationRequest): Promise<ValidationReport> {
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
  try {
    const outcome = await runStagesInOrder(validationTasks(request, dirs), { signal: request.signal, onStage: request.onStage });
    for (const result of outcome.results) Object.assign(report, result.figures);
    report.stages = outcome.timings;
    return outcome.failure ? { ...report, failure: outcome.failure } : { ...report, ok: true };
  } finally {
    rmSync(request.runDir, { recursive: true, force: true });
  }
}

/**
 * The stages in report order: the policy first, then typecheck, tests, mutants and examples at once (the mutants' time
 * bound waits on the tests' time), determinism (a comparison of the examples' three rounds) after the examples.
 */
function validationTasks(request: ValidationRequest, dirs: ValidationDirs): StageTask[] {
  const { spec, heldOut, settings } = request;
  const access = { sandbox: request.sandbox, sandboxPolicy: request.sandboxPolicy };
  // Handed on by a stage to another: the tests' time bounds each mutant (the mutants start beside the tests, see
  // `checkMutants`); the examples' three rounds of runs are what the determinism stage compares.
  let testsTook: (ms: number) => void = () => {};
  const testsDurationMs = new Promise<number>((resolve) => {
    testsTook = resolve;
  });
  let rounds: RunnerOutcome[][] = [];
  const tasks: StageTask[] = [
    { stage: "policy", run: async () => checkPolicy(request.toolCode, request.testCode) },
    { stage: "typecheck", after: "policy", run: (signal) => checkTypes(dirs, access, signal) },
    {
      stage: "tests",
      after: "policy",
      run: async (signal) => {
        let took = Number.NaN;
        try {
          const result = await checkTests(dirs, access, settings, signal);
          took = result.durationMs;
          return result;
        } finally {
          testsTook(took);
        }
      },
    },
    // Reported after the tests and read only when they passed, but started with them: see `checkMutants`.
    { stage: "mutants", after: "policy", run: (signal) => checkMutants(dirs, access, request.toolCode, settings, testsDurationMs, signal) },
    {
      stage: "examples",
      after: "policy",
      run: async (signal) => {
        const result = await checkExamples(dirs, access, spec, heldOut, spec.deterministic ? 3 : 1, settings, signal);
        rounds = result.outcomes;
        return result;
      },
    },
  ];
  if (spec.deterministic) {
    tasks.push({ stage: "determinism", after: "examples", run: async () => checkDeterminism(spec, heldOut, rounds) });
  }
  return tasks;
}
