import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { environmentSettings } from "../../config/environment.ts";
import { loadOrgConfig } from "../../config/org-config.ts";
import { UsageError } from "./command.ts";
import { describeFailure, reportFailure } from "./report-failure.ts";
import { OrgError } from "../../errors/org-error.ts";

/** The error a real call throws. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("it did not throw");
}

test("a TypeError or a RangeError is a bug: its stack is printed, exit 1", () => {
  const typeError = thrownBy(() => (JSON.parse("null") as { personas: string[] }).personas.length);
  const typeReport = reportFailure(typeError, "org");
  expect(typeError).toBeInstanceOf(TypeError);
  expect(typeReport.exitCode).toBe(1);
  expect(typeReport.text).toStartWith("org: unexpected error, a bug in org;");
  expect(typeReport.text).toContain("TypeError:");
  // The stack names the frame that threw.
  expect(typeReport.text).toMatch(/\n\s+at .*report-failure\.test\.ts/);

  const rangeReport = reportFailure(
    thrownBy(() => "x".repeat(-1)),
    "org",
  );
  expect(rangeReport.exitCode).toBe(1);
  expect(rangeReport.text).toContain("RangeError:");
  expect(rangeReport.text).toMatch(/\n\s+at /);
});

test("an error with a name of its own that does not declare itself user-facing still shows its stack", () => {
  class ParserStateError extends Error {
    override name = "ParserStateError";
  }
  const report = reportFailure(
    thrownBy(() => {
      throw new ParserStateError("state 7 has no exit");
    }),
    "org",
  );
  expect(report.text).toContain("ParserStateError: state 7 has no exit");
  expect(report.text).toMatch(/\n\s+at /);
  // Not an error at all: printed whole, still as a bug.
  expect(reportFailure({ odd: true }, "org").text).toContain("odd: true");
});

test("errors that declare themselves user-facing are one line: the typed errors of other parts too", () => {
  const environment = thrownBy(() => environmentSettings({ ORG_SANDBOX: "maybe" }));
  expect(reportFailure(environment, "org")).toEqual({
    text: "org: ORG_SANDBOX=maybe is not a setting org knows: leave it unset (or 'on') to sandbox every tool, or 'off' to run them on the host unsandboxed\n",
    exitCode: 1,
  });
  const directory = mkdtempSync(join(tmpdir(), "org-report-"));
  try {
    const file = join(directory, "org.config.json");
    writeFileSync(file, '{"personas": [{"name": "agent", "kind": "robot"}]}');
    const config = reportFailure(
      thrownBy(() => loadOrgConfig(file, {}, { checkoutDir: directory })),
      "org",
    );
    expect(config.exitCode).toBe(1);
    expect(config.text).toStartWith(`org: ${file} is not valid:`);
    expect(config.text).not.toContain("    at ");
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  expect(reportFailure(new OrgError("no config file at x.json."), "org")).toEqual({ text: "org: no config file at x.json.\n", exitCode: 1 });
});

test("a usage error says how to get the command's help, exit 2", () => {
  expect(reportFailure(new UsageError("--mode needs a value", "chat"), "org")).toEqual({
    text: "org: --mode needs a value\nRun 'org chat --help' for usage.\n",
    exitCode: 2,
  });
  expect(reportFailure(new UsageError("unknown command 'x'"), "/opt/org/bin/org").text).toEndWith("Run '/opt/org/bin/org --help' for usage.\n");
});

test("what the system refuses (a missing file, a busy port) is one line naming it", () => {
  const missing = thrownBy(() => readFileSync(join(tmpdir(), "org-no-such-file-here")));
  const report = reportFailure(missing, "org");
  expect(report.exitCode).toBe(1);
  expect(report.text).toStartWith("org: ENOENT");
  expect(report.text.trimEnd().split("\n")).toHaveLength(1);
});

test("an unattended loop's failure line: a user-facing error in one line, a bug with its stack, neither with a URL's key", async () => {
  const { growEvery } = await import("../../grow/grow-every.ts");
  const lines: string[] = [];
  const stop = new AbortController();
  const failures = [new OrgError("the model server http://me:hunter2secret@127.0.0.1:9/v1 did not answer"), new TypeError("x is undefined")];
  await growEvery({
    everyMs: 1,
    run: async () => {
      const failure = failures.shift();
      if (failure === undefined) stop.abort();
      throw failure ?? new Error("stopped");
    },
    say: (line) => lines.push(line),
    describe: describeFailure,
    signal: stop.signal,
  });
  const failed = lines.filter((line) => line.startsWith("the run failed: "));
  expect(failed[0]).toBe("the run failed: the model server http://127.0.0.1:9/v1 did not answer");
  expect(failed[1]).toStartWith("the run failed: unexpected error, a bug in org");
  expect(failed[1]).toContain("TypeError: x is undefined\n    at ");
  expect(failed).toHaveLength(2);
  expect(lines.join("\n")).not.toContain("hunter2secret");
});
