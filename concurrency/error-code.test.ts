import { expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { OrgError } from "../errors/org-error.ts";
import { errorCode } from "./error-code.ts";

test("errorCode reads a failed system call's code and nothing else", () => {
  const failure = (work: () => unknown) => {
    try {
      work();
    } catch (error) {
      return error;
    }
    throw new Error("the call should have failed");
  };
  expect(errorCode(failure(() => readFileSync("/nonexistent/org-error-code")))).toBe("ENOENT");
  expect(errorCode(failure(() => mkdirSync(tmpdir())))).toBe("EEXIST");
  expect(errorCode(new Error("plain"))).toBeUndefined();
  expect(errorCode({ code: "ENOENT" })).toBeUndefined();
  expect(errorCode(Object.assign(new Error("odd"), { code: 2 }))).toBeUndefined();
  // An OrgError's code names the error, not a system call.
  expect(errorCode(new OrgError("the lock is held"))).toBeUndefined();
});
