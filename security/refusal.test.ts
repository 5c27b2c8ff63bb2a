import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { reportFailure } from "../cli/command/report-failure.ts";
import { PromotionRefusedError } from "../cycle/ref-change.ts";
import { productionFiles } from "../testing/production-files.ts";
import { isRefusal } from "./refusal.ts";

const REPO = join(import.meta.dir, "..");

/** An error of some class, maybe declaring itself user-facing (or something like it), maybe with a code. */
const anyError = fc
  .record({
    kind: fc.constantFrom("Error", "TypeError", "object"),
    userFacing: fc.option(fc.constantFrom<unknown>(true, false, "true", 1), { nil: undefined }),
    code: fc.option(
      fc.oneof(fc.constantFrom<unknown>("ENOENT", "EACCES", "EADDRINUSE", "E2BIG", "ERR_INVALID_ARG", "enoent", "E"), fc.integer(), fc.string()),
      {
        nil: undefined,
      },
    ),
  })
  .map(({ kind, userFacing, code }) => {
    const error =
      kind === "object" ? { message: "not an Error" } : kind === "TypeError" ? new TypeError("x is not a function") : new Error("it failed");
    return Object.assign(error, userFacing === undefined ? {} : { userFacing }, code === undefined ? {} : { code });
  });

test("a refusal is what main prints as one line, and a bug what it prints with its stack: the same test (property)", () => {
  fc.assert(
    fc.property(anyError, (error) => {
      const report = reportFailure(error, "org");
      expect({ error, oneLine: !report.text.includes("a bug in org") }).toEqual({ error, oneLine: isRefusal(error) });
    }),
    { numRuns: 500 },
  );
});

test("typed refusals and the system's errors are refusals; a TypeError is a bug", () => {
  const systemError = (() => {
    try {
      readFileSync("/nonexistent/org-refusal");
    } catch (error) {
      return error;
    }
  })();
  expect([new PromotionRefusedError("the gate said no"), systemError].map(isRefusal)).toEqual([true, true]);
  expect([new TypeError("x is not a function"), new Error("plain"), "text", { userFacing: true, message: "m" }].map(isRefusal)).toEqual([
    false,
    false,
    false,
    false,
  ]);
});

test("no other production file tells a refusal from a bug by hand: they ask isRefusal", () => {
  const byHand = /["']userFacing["'] in |\.userFacing === true|\^E\[A-Z0-9\]/;
  const found = productionFiles(new Set(["testing", "bench", "ops", "demo", "docs", "node_modules", ".org", ".git", ".ci"]))
    .filter((file) => file !== "security/refusal.ts" && byHand.test(readFileSync(join(REPO, file), "utf8")))
    .sort();
  expect(found).toEqual([]);
});
