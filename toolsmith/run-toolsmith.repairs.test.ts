import { describe, expect, test } from "bun:test";
import { toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { nextRepair } from "./run-toolsmith.ts";
import { splitExamples } from "./split-examples.ts";

const settings = { implementationRepairs: 3, testRepairs: 1 };

describe("what follows a failed validation", () => {
  test("weak tests go back to the tests, a wrong tool to the implementation, while rounds are left", () => {
    const weak = { stage: "mutants" as const, blame: "tests" as const, message: "the tests caught 2 of 10" };
    const wrong = { stage: "examples" as const, blame: "implementation" as const, message: "for the input … the tool failed" };
    expect(nextRepair(weak, { implementationRepairs: 0, testRepairs: 0 }, settings)).toEqual({ kind: "tests" });
    expect(nextRepair(wrong, { implementationRepairs: 2, testRepairs: 1 }, settings)).toEqual({ kind: "implementation" });
  });

  test("out of rounds, the run ends with the stage, the rounds spent and the first 400 characters on one line", () => {
    const weak = { stage: "tests" as const, blame: "tests" as const, message: `cover 50 %\n${"x".repeat(500)}` };
    const end = nextRepair(weak, { implementationRepairs: 0, testRepairs: 1 }, settings);
    expect(end.kind).toBe("give-up");
    if (end.kind !== "give-up") return;
    expect(end.failure).toStartWith("the tests stage after 1 tests repair round: cover 50 % xxx");
    expect(end.failure).not.toContain("\n");
    const wrong = { stage: "typecheck" as const, blame: "implementation" as const, message: "type errors" };
    expect(nextRepair(wrong, { implementationRepairs: 3, testRepairs: 0 }, settings)).toEqual({
      kind: "give-up",
      failure: "the typecheck stage after 3 repair rounds: type errors",
    });
  });
});

test("about a third of the examples are held out: at least one, never all, the last ones", () => {
  const spec = toolMetadataSchemas().ToolSpec.parse(WORD_COUNT.spec);
  const { visible, heldOut } = splitExamples(spec, 0.34);
  expect(visible).toEqual(spec.examples.slice(0, 2));
  expect(heldOut).toEqual(spec.examples.slice(2));
  expect(splitExamples(spec, 0).heldOut).toHaveLength(1);
  expect(splitExamples(spec, 1).visible).toHaveLength(1);
});
