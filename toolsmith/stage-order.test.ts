import { describe, expect, test } from "bun:test";
import type { ValidationStage } from "../generated-tools/tool-metadata.ts";
import { runStagesInOrder, type StageEvent, type StageResult, type StageTask } from "./stage-order.ts";

const fail = (stage: ValidationStage): StageResult => ({ failure: { stage, blame: "implementation", message: `${stage} failed` } });

/** A stage that ends when `release` is called, or (as a sandbox does) when its signal is aborted. */
function held(stage: ValidationStage, after?: ValidationStage) {
  const seen = { started: false, aborted: false, ended: false };
  let release: (result: StageResult) => void = () => {};
  const task: StageTask = {
    stage,
    ...(after ? { after } : {}),
    run: (signal) =>
      new Promise<StageResult>((resolve) => {
        seen.started = true;
        const end = (result: StageResult) => {
          seen.ended = true;
          resolve(result);
        };
        release = end;
        signal.addEventListener("abort", () => {
          seen.aborted = true;
          end(fail(stage));
        });
      }),
  };
  return { task, seen, release: (result: StageResult = {}) => release(result) };
}

describe("stages run at once and are read in order", () => {
  test("a later stage's failure that comes first does not hide an earlier one's", async () => {
    const typecheck = held("typecheck");
    const tests = held("tests");
    const events: StageEvent[] = [];
    const outcome = runStagesInOrder([typecheck.task, tests.task], { onStage: (event) => events.push(event) });
    await Bun.sleep(5);
    expect([typecheck.seen.started, tests.seen.started]).toEqual([true, true]);
    tests.release({ ...fail("tests"), figures: { coverage: 0.5 } });
    await Bun.sleep(5);
    typecheck.release(fail("typecheck"));
    const result = await outcome;
    expect(result.failure?.stage).toBe("typecheck");
    // Only what the serial run would have seen: nothing of the tests stage.
    expect(result.results).toEqual([fail("typecheck")]);
    expect(result.timings.map((timing) => [timing.stage, timing.ok])).toEqual([["typecheck", false]]);
    expect(events).toEqual([{ stage: "typecheck", index: 1, total: 2 }]);
  });

  test("the first failure cancels the stages still running, and they have ended when it returns", async () => {
    const typecheck = held("typecheck");
    const tests = held("tests");
    const examples = held("examples");
    const outcome = runStagesInOrder([typecheck.task, tests.task, examples.task]);
    await Bun.sleep(5);
    typecheck.release(fail("typecheck"));
    const result = await outcome;
    expect(result.failure?.stage).toBe("typecheck");
    expect([tests.seen.aborted, tests.seen.ended, examples.seen.aborted, examples.seen.ended]).toEqual([true, true, true, true]);
  });

  test("a stage starts only after the one it needs has passed, and never when it failed", async () => {
    const tests = held("tests");
    const mutants = held("mutants", "tests");
    const outcome = runStagesInOrder([tests.task, mutants.task]);
    await Bun.sleep(5);
    expect(mutants.seen.started).toBe(false);
    tests.release({ figures: { tests: { passed: 3, failed: 0 } } });
    await Bun.sleep(5);
    expect(mutants.seen.started).toBe(true);
    mutants.release({ figures: { mutants: { total: 10, killed: 9, score: 0.9 } } });
    const result = await outcome;
    expect(result.failure).toBeUndefined();
    expect(result.timings.map((timing) => [timing.stage, timing.ok])).toEqual([
      ["tests", true],
      ["mutants", true],
    ]);

    const failing = held("tests");
    const never = held("mutants", "tests");
    const stopped = runStagesInOrder([failing.task, never.task]);
    failing.release(fail("tests"));
    expect((await stopped).failure?.stage).toBe("tests");
    expect(never.seen.started).toBe(false);
  });

  test("a stage the caller's signal cut has no verdict: the reason is thrown, never a failure, after every stage ended", async () => {
    const typecheck = held("typecheck");
    const tests = held("tests");
    const caller = new AbortController();
    const outcome = runStagesInOrder([typecheck.task, tests.task], { signal: caller.signal });
    await Bun.sleep(5);
    caller.abort(new Error("the run's budget was reached"));
    await expect(outcome).rejects.toThrow("the run's budget was reached");
    expect(typecheck.seen).toMatchObject({ aborted: true, ended: true });
    expect(tests.seen).toMatchObject({ aborted: true, ended: true });
  });

  test("an error of the stage being read is thrown, after the others have ended; a later stage's error waits its turn", async () => {
    const typecheck = held("typecheck");
    const broken: StageTask = { stage: "tests", run: async () => Promise.reject(new Error("sandbox gone")) };
    const outcome = runStagesInOrder([typecheck.task, broken]);
    await Bun.sleep(5);
    typecheck.release(fail("typecheck"));
    expect((await outcome).failure?.stage).toBe("typecheck");

    const passing = held("typecheck");
    const thrown = runStagesInOrder([passing.task, broken]);
    await Bun.sleep(5);
    passing.release();
    await expect(thrown).rejects.toThrow("sandbox gone");
  });
});
