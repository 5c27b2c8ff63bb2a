import { expect, test } from "bun:test";
import { reportFailure } from "../cli/command/report-failure.ts";
import { OrgError } from "./org-error.ts";

class LockHeldError extends OrgError {
  override name = "LockHeldError";
}

test("an OrgError carries its message, its next step and a code from its name", () => {
  const error = new LockHeldError("the lock is held by pid 42", { nextStep: "stop that org, or wait for it" });
  expect([error.message, error.nextStep, error.code, error.name]).toEqual([
    "the lock is held by pid 42",
    "stop that org, or wait for it",
    "lock-held",
    "LockHeldError",
  ]);
  expect([error instanceof OrgError, error instanceof Error, new OrgError("m").code]).toEqual([true, true, "org"]);
});

test("isInstance knows an OrgError made by another copy of the module, and nothing shaped like one", async () => {
  const copy: typeof import("./org-error.ts") = await import(`./org-error.ts?copy=${Date.now()}`);
  const foreign = new copy.OrgError("made elsewhere");
  expect(foreign instanceof OrgError).toBe(false);
  expect(OrgError.isInstance(foreign)).toBe(true);
  const lookalikes = [new Error("plain"), { name: "OrgError", message: "m", nextStep: "n", code: "org" }, "OrgError", null, undefined];
  expect(lookalikes.map((value) => OrgError.isInstance(value))).toEqual([false, false, false, false, false]);
});

test("main prints an OrgError as its message and next step, without a stack", () => {
  const report = reportFailure(new LockHeldError("the lock is held by pid 42", { nextStep: "stop that org, or wait for it" }), "org");
  expect(report).toEqual({ text: "org: the lock is held by pid 42\nstop that org, or wait for it\n", exitCode: 1 });
  expect(reportFailure(new OrgError("no gate here"), "org")).toEqual({ text: "org: no gate here\n", exitCode: 1 });
});
