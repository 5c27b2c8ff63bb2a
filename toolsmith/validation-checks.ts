import { z } from "zod";
import type { ToolExample, ToolSpec } from "../generated-tools/tool-metadata.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { makeMutants } from "./mutants.ts";
import { mutantsStage, outputForModel, type RunnerOutcome, runnerStage, testsStage, typecheckStage, type ValidationDirs } from "./sandbox-stages.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import type { StageResult, ValidationFailure } from "./stage-order.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { checkStaticPolicy } from "./static-policy.ts";

// Each stage of validate-tool.ts as a verdict: what it ran, and the failure (with whom to blame) when it did not pass.

const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;

/** The static policy, on tool.ts and then on the tests. */
export function checkPolicy(toolCode: string, testCode: string): StageResult {
  const toolProblems = checkStaticPolicy(toolCode, "tool");
  if (toolProblems.length > 0) return { failure: { stage: "policy", blame: "implementation", message: toolProblems.join("\n") } };
  const testProblems = checkStaticPolicy(testCode, "tests");
  if (testProblems.length > 0) return { failure: { stage: "policy", blame: "tests", message: testProblems.join("\n") } };
  return {};
}

/** The native compiler on both files; errors only in the tests blame the tests. */
export async function checkTypes(dirs: ValidationDirs, access: SandboxAccess, signal: AbortSignal): Promise<StageResult> {
  const result = await typecheckStage(dirs, access, signal);
  if (result.ok) return {};
  return { failure: { stage: "typecheck", blame: result.onlyTests ? "tests" : "implementation", message: `type errors:\n${result.output}` } };
}

/** The tests once, with line coverage of tool.ts; also how long they took (the mutants' time bound). */
export async function checkTests(
  dirs: ValidationDirs,
  access: SandboxAccess,
  settings: ToolsmithSettings,
  signal: AbortSignal,
): Promise<StageResult & { durationMs: number }> {
  const started = performance.now();
  const result = await testsStage(dirs, access, settings.testTimeoutMs, signal);
  const durationMs = performance.now() - started;
  const figures = { tests: { passed: result.passed, failed: result.failed }, coverage: result.coverage };
  const fail = (failure: ValidationFailure) => ({ failure, figures, durationMs });
  if (!result.ok) return fail({ stage: "tests", blame: "implementation", message: `the tests failed:\n${result.output}` });
  if (result.unreadable) return fail({ stage: "tests", blame: "tests", message: `${result.unreadable}. Write nothing into /scratch/coverage.` });
  if (result.coverage < settings.coverage) {
    return fail({
      stage: "tests",
      blame: "tests",
      message:
        `the tests cover ${percent(result.coverage)} of the lines of tool.ts; at least ` +
        `${percent(settings.coverage)} is required. Test every branch.`,
    });
  }
  return { figures, durationMs };
}

/** How long each mutant's run may take: a few times what the real tests took, at least 3 s (a mutant may loop forever), at most the tests' own limit.
 *
 */
export function perMutantMs(settings: ToolsmithSettings, testsDurationMs: number): number {
  return Math.min(settings.testTimeoutMs, Math.max(3_000, 5 * testsDurationMs));
}

/**
 * The tests against each mutant of tool.ts. `testsDurationMs` is what the real tests took, once they have run: the
 * mutants start at once with the least bound (`perMutantMs` for no time at all: 3 s), so their sandbox and process start
 * beside the real tests rather than after them. When the tests' time gives a larger bound, that run stands only if the
 * bound decided no verdict (no mutant was killed past it, none was left without a verdict): a bound only cuts runs
 * short, so every verdict is then the one the larger bound gives. Otherwise the mutants run again under the larger
 * bound. Its result is read only once the tests passed. `run` is the stage's sandbox (a test gives its own).
 */
export async function checkMutants(
  dirs: ValidationDirs,
  access: SandboxAccess,
  toolCode: string,
  settings: ToolsmithSettings,
  testsDurationMs: Promise<number>,
  signal: AbortSignal,
  run: typeof mutantsStage = mutantsStage,
): Promise<StageResult> {
  const mutants = makeMutants(toolCode, settings.mutants);
  const early = perMutantMs(settings, 0);
  const earlyRun = run(dirs, access, mutants, early, signal);
  // Read (and rethrown) below; an error must not count as unhandled meanwhile.
  earlyRun.catch(() => {});
  const aborted = signal.aborted
    ? Promise.resolve(Number.NaN)
    : new Promise<number>((resolve) => signal.addEventListener("abort", () => resolve(Number.NaN), { once: true }));
  const tookMs = await Promise.race([testsDurationMs, aborted]);
  const bound = Number.isNaN(tookMs) ? early : perMutantMs(settings, tookMs);
  const first = await earlyRun;
  const result = bound === early || !first.bounded ? first : await run(dirs, access, mutants, bound, signal);
  const figures = { mutants: { total: result.total, killed: result.killed, score: result.score } };
  if (result.total > 0 && result.score >= settings.mutationScore) return { figures };
  return {
    figures,
    failure: {
      stage: "mutants",
      blame: "tests",
      message:
        `the tests caught ${result.killed} of ${result.total} changed copies of tool.ts (need ` +
        `${percent(settings.mutationScore)}). Not caught:\n${result.survivors.slice(0, 8).join("\n")}\nAssert ` +
        `exact outputs, boundaries and every branch.`,
    },
  };
}

/** The examples in the order the runs take them: the held-out ones first, then the rest of the spec's. */
function examplesToRun(spec: ToolSpec, heldOut: ToolExample[]): ToolExample[] {
  return [...heldOut, ...spec.examples.filter((example) => !heldOut.includes(example))];
}

/**
 * What is wrong with one example's run through the fixed runner, or undefined: it failed, its output does not fit the
 * output schema, or (deterministic specs) it is not the expected output. A held-out example's expected output stays
 * hidden, so the next round cannot special-case it.
 */
function exampleFailure(spec: ToolSpec, example: ToolExample, outcome: RunnerOutcome | undefined, heldOut: boolean): ValidationFailure | undefined {
  const input = outputForModel(JSON.stringify(example.input), 300);
  const fail = (message: string): ValidationFailure => ({ stage: "examples", blame: "implementation", message });
  if (!outcome?.ok) return fail(`for the input ${input} the tool failed: ${outputForModel(outcome?.error ?? "no result", 600)}`);
  const shape = z.fromJSONSchema(spec.output_schema).safeParse(outcome.output);
  if (!shape.success) {
    const issues = shape.error.issues.map((issue) => `${issue.path.join(".") || "(output)"}: ${issue.message}`).join("; ");
    return fail(`for the input ${input} the output does not match the output schema: ${outputForModel(issues, 600)}`);
  }
  if (!spec.deterministic || canonicalJson(outcome.output) === canonicalJson(example.output)) return undefined;
  const got = outputForModel(JSON.stringify(outcome.output), 300);
  return fail(
    heldOut
      ? `an example you were not shown fails: for the input ${input} the tool returned ${got}, which is ` +
          `wrong. Implement the rule the description states, not the examples.`
      : `for the input ${input} the tool returned ${got}, expected ${outputForModel(JSON.stringify(example.output), 300)}`,
  );
}

/**
 * Every example through the fixed runner (held-out ones first), `rounds` times (3 for the determinism stage, 1
 * otherwise), each run a fresh process, all in one sandbox; judges the first round: outcomes[round][example].
 */
export async function checkExamples(
  dirs: ValidationDirs,
  access: SandboxAccess,
  spec: ToolSpec,
  heldOut: ToolExample[],
  rounds: number,
  settings: ToolsmithSettings,
  signal: AbortSignal,
): Promise<StageResult & { outcomes: RunnerOutcome[][] }> {
  const examples = examplesToRun(spec, heldOut);
  const inputs = examples.map((example) => example.input);
  const outcomes = await runnerStage(dirs, access, spec.input_schema, inputs, rounds, settings.toolTimeoutMs, signal);
  for (const [index, example] of examples.entries()) {
    const failure = exampleFailure(spec, example, outcomes[0]?.[index], index < heldOut.length);
    if (failure) return { failure, outcomes };
  }
  return { outcomes };
}

/** The examples' three rounds (each run a fresh process, `checkExamples`): every example's three results must agree. */
export function checkDeterminism(spec: ToolSpec, heldOut: ToolExample[], outcomes: RunnerOutcome[][]): StageResult {
  const examples = examplesToRun(spec, heldOut);
  const figures = { determinismRuns: 3 };
  for (const [index, example] of examples.entries()) {
    const runs = [0, 1, 2].map((round) => canonicalJson(outcomes[round]?.[index] ?? { ok: false, error: "no result" }));
    if (new Set(runs).size !== 1) {
      return {
        figures,
        failure: {
          stage: "determinism",
          blame: "implementation",
          message:
            `the spec says deterministic, but three runs on ` +
            `${outputForModel(JSON.stringify(example.input), 300)} gave different results: ` +
            `${outputForModel(runs.join(" | "), 600)}. Do not use time, randomness or anything outside the input.`,
        },
      };
    }
  }
  return { figures };
}
