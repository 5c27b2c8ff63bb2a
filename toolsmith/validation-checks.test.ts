import { expect, test } from "bun:test";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import type { Mutant } from "./mutants.ts";
import type { mutantsStage, ValidationDirs } from "./sandbox-stages.ts";
import { checkMutants, perMutantMs } from "./validation-checks.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// The mutants start beside the tests, before the tests' time (which bounds each mutant) is known. What is checked
// here is that decision alone; `sandbox-stages.test.ts` runs the real mutants and proves `bounded`.
const settings = ToolsmithSettings.parse({});
const dirs = {} as ValidationDirs;
const access = testSandboxAccess();

/** A stand-in for the mutants' sandbox: records each bound it is asked to run with and answers `answers` in turn. */
function stage(answers: { killed: number; bounded: boolean }[]) {
  const bounds: number[] = [];
  const run: typeof mutantsStage = async (_dirs: ValidationDirs, _access: SandboxAccess, mutants: Mutant[], timeoutMs: number) => {
    const answer = answers[bounds.length] ?? { killed: 0, bounded: false };
    bounds.push(timeoutMs);
    return { total: mutants.length, killed: answer.killed, score: answer.killed / mutants.length, survivors: [], bounded: answer.bounded };
  };
  return { run, bounds };
}

test("the bound: five times the tests' time, at least 3 s, at most the tests' own limit", () => {
  expect(perMutantMs(settings, 0)).toBe(3_000);
  expect(perMutantMs(settings, 600)).toBe(3_000);
  expect(perMutantMs(settings, 2_000)).toBe(10_000);
  expect(perMutantMs(settings, 60_000)).toBe(settings.testTimeoutMs);
});

test("tests of up to 600 ms: the run started beside them, under 3 s, is the run", async () => {
  const { run, bounds } = stage([{ killed: 9, bounded: true }]);
  const result = await checkMutants(dirs, access, WORD_COUNT.tool, settings, Promise.resolve(400), new AbortController().signal, run);
  expect(bounds).toEqual([3_000]);
  expect(result.failure).toBeUndefined();
  expect(result.figures?.mutants?.killed).toBe(9);
});

test("slower tests give a larger bound: the early run stands when the bound decided none of its verdicts", async () => {
  const { run, bounds } = stage([{ killed: 8, bounded: false }]);
  const result = await checkMutants(dirs, access, WORD_COUNT.tool, settings, Promise.resolve(2_000), new AbortController().signal, run);
  expect(bounds).toEqual([3_000]);
  expect(result.figures?.mutants?.killed).toBe(8);
});

test("slower tests and a verdict the 3 s bound decided: the mutants run again under the larger bound, and that run is the verdict", async () => {
  const { run, bounds } = stage([
    { killed: 9, bounded: true },
    { killed: 2, bounded: false },
  ]);
  const result = await checkMutants(dirs, access, WORD_COUNT.tool, settings, Promise.resolve(2_000), new AbortController().signal, run);
  expect(bounds).toEqual([3_000, 10_000]);
  expect(result.figures?.mutants?.killed).toBe(2);
  expect(result.failure?.stage).toBe("mutants");
});

test("stopped before the tests end (they failed, or the validation was cancelled): no second run", async () => {
  const { run, bounds } = stage([{ killed: 0, bounded: true }]);
  const stop = new AbortController();
  const never = new Promise<number>(() => {});
  const checked = checkMutants(dirs, access, WORD_COUNT.tool, settings, never, stop.signal, run);
  stop.abort();
  await checked;
  expect(bounds).toEqual([3_000]);
});
