import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { RUNTIME_HOSTILE_CASES, runtimeCaseTool, runtimeProbeTests, runtimeProbeTool, STATIC_HOSTILE_CASES } from "./hostile-code-corpus.ts";
import { ordinaryCorpus, submittedSources } from "./ordinary-corpus.ts";
import { runnerStage, testsStage, validationDirs } from "./sandbox-stages.ts";
import { splitExamples } from "./split-examples.ts";
import { checkStaticPolicy } from "./static-policy.ts";
import { validateTool } from "./validate-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const access = testSandboxAccess();
const root = mkdtempSync(join(tmpdir(), "org-policy-corpus-"));
chmodSync(root, 0o755); // the sandbox uid passes through it when org runs as root
afterAll(() => rmSync(root, { recursive: true, force: true }));

const corpus = ordinaryCorpus();
const share = (part: number, whole: number) => `${part}/${whole} (${Math.round((part / whole) * 100)} %)`;

// The full validation of every corpus tool is `npm run bench:ordinary-corpus` (minutes); here, a subset that
// covers the habits the policy used to refuse: a counter, a median, lookup-table parsing in the tests, fences.
const VALIDATED_HERE = ["word_frequency", "median_of_numbers", "integer_to_roman", "fenced_roman_parse"];

describe("ordinary code passes, hostile code is refused or contained (issue 30)", () => {
  test("the ordinary corpus: 40 tools or more, with fenced submissions and lookup tables in tests, all pass the policy", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(corpus.filter((tool) => tool.tool.includes("```") || tool.tests.includes("```")).length).toBeGreaterThanOrEqual(3);
    const refused = corpus.flatMap((tool) => {
      const { toolCode, testCode } = submittedSources(tool);
      const problems = [...checkStaticPolicy(toolCode, "tool"), ...checkStaticPolicy(testCode, "tests")];
      return problems.length > 0 ? [`${tool.name} (${tool.habit}): ${problems.join("; ")}`] : [];
    });
    console.log(`ordinary corpus through the static policy: ${share(corpus.length - refused.length, corpus.length)} pass`);
    expect(refused).toEqual([]);
  }, 60_000);

  test("the hostile corpus: every written form is refused statically, with a message", () => {
    const missed = STATIC_HOSTILE_CASES.filter((entry) => !entry.refusal.test(checkStaticPolicy(entry.code, entry.role).join("\n")));
    console.log(
      `hostile corpus, written forms: ${share(STATIC_HOSTILE_CASES.length - missed.length, STATIC_HOSTILE_CASES.length)} refused statically`,
    );
    expect(missed.map((entry) => entry.label)).toEqual([]);
  });

  test("the hostile corpus: every computed-key route to code from strings passes the policy and fails at run time, in the fixed runner and under bun test (real sandbox)", async () => {
    const cases = RUNTIME_HOSTILE_CASES;
    // These are the routes a computed key opens: the policy lets them through, the run time must stop them.
    expect(cases.filter((entry) => checkStaticPolicy(runtimeCaseTool(entry), "tool").length > 0).map((entry) => entry.label)).toEqual([]);
    const dirs = validationDirs(join(root, "runtime-hostile"));
    writeFileSync(join(dirs.tool, "tool.ts"), runtimeProbeTool(cases));
    writeFileSync(join(dirs.tool, "tool.test.ts"), runtimeProbeTests(cases));
    const schema = { type: "object", properties: { at: { type: "integer" } }, required: ["at"] };
    // One call of the fixed runner runs every case in turn, each caught on its own.
    const [[outcome] = []] = await runnerStage(dirs, access, schema, [{ at: -1 }], 1, 10_000);
    if (!outcome?.ok) throw new Error(`the probe did not run: ${outcome?.error}`);
    const lines = JSON.parse((outcome.output as { result: string }).result) as string[];
    expect(lines).toHaveLength(cases.length);
    const escapedInRunner = cases.filter((_, at) => !lines[at]?.startsWith("threw: "));
    // Each case failed for the lockdown's reason: the refusing constructor, a frozen prototype, or eval gone.
    expect(
      lines.filter(
        (line) =>
          !/^threw: (code built from strings is not allowed here|Attempting to change value of a readonly property|Attempted to assign to readonly property|.*is not a function)/.test(
            line,
          ),
      ),
    ).toEqual([]);
    // Under bun test each case runs twice, in the tests' scope and through the tool, and passes only if it escaped.
    const underTests = await testsStage(dirs, access, 30_000);
    const contained = cases.length - escapedInRunner.length;
    console.log(
      `hostile corpus, computed-key routes: ${share(contained, cases.length)} contained in the fixed runner; under bun test ${share(underTests.failed, cases.length * 2)} contained (${underTests.passed} escaped)`,
    );
    expect(escapedInRunner.map((entry) => entry.label)).toEqual([]);
    expect({ passed: underTests.passed, failed: underTests.failed }).toEqual({ passed: 0, failed: cases.length * 2 });
    const hostileTotal = STATIC_HOSTILE_CASES.length + cases.length;
    console.log(`hostile corpus: ${share(hostileTotal, hostileTotal)} refused or contained`);
  }, 240_000);

  test(`the whole validation passes for ${VALIDATED_HERE.join(", ")} (real sandbox)`, async () => {
    // Each runner call gets more than the default 3 s: on a loaded machine bun's start alone can take that long, and
    // this test is about what the stages judge, not how fast a call is.
    const settings = ToolsmithSettings.parse({ toolTimeoutMs: 10_000 });
    const failures: string[] = [];
    for (const name of VALIDATED_HERE) {
      const tool = corpus.find((entry) => entry.name === name);
      if (!tool) throw new Error(`ordinary-corpus.md has no ${name}`);
      const report = await validateTool({
        ...testSandboxAccess(),
        runDir: join(root, `validate-${name}`),
        spec: tool.spec,
        heldOut: splitExamples(tool.spec, settings.heldOutShare).heldOut,
        ...submittedSources(tool),
        settings,
      });
      if (!report.ok) failures.push(`${name}: ${report.failure?.stage}: ${report.failure?.message}`);
    }
    console.log(`ordinary corpus through the whole validation here: ${share(VALIDATED_HERE.length - failures.length, VALIDATED_HERE.length)} pass`);
    expect(failures).toEqual([]);
  }, 240_000);
});
