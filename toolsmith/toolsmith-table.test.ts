import { describe, expect, test } from "bun:test";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { checkoutState, gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { expectValidatedAtDefaults } from "../testing/expect-validated-at-defaults.ts";
import { CELSIUS, CLAMP, FIZZBUZZ, PALINDROME, SUM, TOOL_FIXTURES, type ToolFixture, toolsmithRules } from "../testing/toolsmith-fixtures.ts";
import { runToolsmith, type ToolsmithEvent } from "./run-toolsmith.ts";
import { parseToolMetadata } from "../generated-tools/tool-metadata.ts";
import { httpModel } from "../llm/http-model.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { toolsmithRecords } from "../fitness/toolsmith-records.ts";
import { codeIdentity } from "../fitness/code-identity.ts";
import { recordValidation } from "../fitness/validation-record.ts";
import type { ValidatedInput, ValidationReport } from "./validate-tool.ts";

// As recordValidation without one: none (a code file changed since this process began) records nothing.
const identityOrNone = () => {
  try {
    return codeIdentity(undefined, { unchangedSince: performance.timeOrigin });
  } catch {
    return undefined;
  }
};
const recordWith = (identity: string) => (repoDir: string, input: ValidatedInput, report: ValidationReport) =>
  recordValidation(repoDir, input, report, { identity });

function worktreesLeft(repoDir: string): string[] {
  const directory = join(repoDir, ".org", "worktrees");
  return existsSync(directory) ? readdirSync(directory) : [];
}

// Planted-bad answers: each must be refused, whatever stage catches it. A tool reaching for the network through a
// computed key is toolsmith-refusals.test.ts's ("... passes the policy and is stopped at run time"), which names where
// it is stopped.
const BAD: { label: string; fixture: ToolFixture; tool?: string; tests?: string; stages: string[] }[] = [
  {
    label: "hard-coded examples (the held-out one fails)",
    fixture: CLAMP,
    tool: `import { z } from "zod";
const Input = z.object({ value: z.number(), min: z.number(), max: z.number() });
export default function clamp(input: unknown): { result: number } {
  const { value, min, max } = Input.parse(input);
  if (min > max) throw new Error("min exceeds max");
  if (value === 5) return { result: 5 };
  if (value === -3) return { result: 0 };
  if (value === 0) return { result: 0 };
  if (value === 10) return { result: 10 };
  if (value === 11) return { result: 10 };
  if (value < min) return { result: min };
  return { result: value };
}
`,
    tests: `import { expect, test } from "bun:test";
import clamp from "./tool.ts";
test("examples", () => {
  expect(clamp({ value: 5, min: 0, max: 10 })).toEqual({ result: 5 });
  expect(clamp({ value: -3, min: 0, max: 10 })).toEqual({ result: 0 });
  expect(clamp({ value: 0, min: 0, max: 10 })).toEqual({ result: 0 });
  expect(clamp({ value: 10, min: 0, max: 10 })).toEqual({ result: 10 });
  expect(clamp({ value: 11, min: 0, max: 10 })).toEqual({ result: 10 });
  expect(clamp({ value: -7, min: -5, max: 10 })).toEqual({ result: -5 });
  expect(clamp({ value: 3, min: 3, max: 3 })).toEqual({ result: 3 });
  expect(() => clamp({ value: 1, min: 5, max: 0 })).toThrow();
});
`,
    stages: ["examples"],
  },
  {
    label: "hard-coded lookup of the visible examples",
    fixture: SUM,
    tool: `import { z } from "zod";
const Input = z.object({ numbers: z.array(z.number()) });
const KNOWN: Record<string, number> = { "1,2,3": 6, "": 0, "7": 7 };
export default function sum(input: unknown): { sum: number } {
  const { numbers } = Input.parse(input);
  const known = KNOWN[numbers.join(",")];
  if (known === undefined) return { sum: numbers.length > 0 ? numbers[0] as number : 0 };
  return { sum: known };
}
`,
    // A lookup by a computed key passes the policy (issue 30): the held-out example catches it.
    stages: ["tests", "examples"],
  },
  {
    label: "weak tests: no real assertion",
    fixture: FIZZBUZZ,
    tests: `import { expect, test } from "bun:test";
import fizzbuzz from "./tool.ts";
test("answers", () => {
  for (let n = 1; n <= 30; n += 1) expect(typeof fizzbuzz({ n }).word).toBe("string");
});
`,
    stages: ["mutants"],
  },
  {
    label: "weak tests: only toBeDefined",
    fixture: PALINDROME,
    tests: `import { expect, test } from "bun:test";
import isPalindrome from "./tool.ts";
test("answers", () => {
  for (const phrase of ["abba", "abcd", "Racecar", "", "a, b"]) expect(isPalindrome({ phrase })).toBeDefined();
});
`,
    stages: ["mutants"],
  },
  {
    label: "nondeterminism",
    fixture: CELSIUS,
    tool: CELSIUS.tool.replace(
      "return { fahrenheit: (celsius * 9) / 5 + 32 };",
      // A draw of its own each call: three rounds agreeing by chance (a quarter of the time an example with a coin's
      // two sides) let it through once in a full run.
      "return { fahrenheit: (celsius * 9) / 5 + 32 + Math.random() * 1e-9 };",
    ),
    tests: CELSIUS.tests
      .replaceAll("toEqual({ fahrenheit: ", "toMatchObject({ fahrenheit: expect.closeTo(")
      .replace(/toMatchObject\(\{ fahrenheit: expect\.closeTo\((-?\d+) \}\)/g, "toMatchObject({ fahrenheit: expect.closeTo($1) })"),
    stages: ["examples", "determinism"],
  },
];

describe("the fixture table: every good answer lands, every planted-bad one is refused", () => {
  // Each goal's landing is checked as a whole here (this was run-toolsmith.test.ts's word_count case): ten validations
  // prove for every tool what one proved for one.
  test("ten goals with known-good answers each land on their own cand/<ts> branch with the tool, its tests and validated metadata, " +
    "passing validation at the default thresholds; the checkout is untouched; " +
    "a spec with a bad name, then a taken one, is sent back with the exact error", async () => {
    using repo = tempGitRepo();
    // sum's spec comes first with a bad name, then a taken one (this was toolsmith-refusals.test.ts's own landing):
    // each is sent back with the exact error, and the third lands as the others do.
    const sumSpecs = [{ ...SUM.spec, name: "Sum Numbers" }, { ...SUM.spec, name: "web_fetch" }, SUM.spec];
    const rules = TOOL_FIXTURES.flatMap((fixture) => toolsmithRules(fixture, fixture === SUM ? { specs: sumSpecs } : {}));
    await using server = await startScriptedServer({ script: { rules } });
    // Each landing records its validation under the identity of the code validating (a hash of org's every code file):
    // hashed once for the ten, as the gate does for its run (`judgingCode`). The other toolsmith tests hash it per record.
    const identity = identityOrNone();
    const records = identity ? { ...toolsmithRecords, recordValidation: recordWith(identity) } : toolsmithRecords;
    const landed: string[] = [];
    for (const fixture of TOOL_FIXTURES) {
      const before = checkoutState(repo.dir);
      const events: ToolsmithEvent[] = [];
      const outcome = await runToolsmith({
        records,
        ...testSandboxAccess(),
        goal: fixture.goal,
        model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
        repoDir: repo.dir,
        settings: { testTimeoutMs: 15_000 },
        onEvent: (event) => events.push(event),
      });
      if (!outcome.ok) throw new Error(`${fixture.key}: ${outcome.failure}`);
      const name = fixture.spec.name as string;
      const attempts = fixture === SUM ? 5 : 3;
      expect({ key: fixture.key, name: outcome.name, attempts: outcome.attempts }).toEqual({ key: fixture.key, name, attempts });
      expect(outcome.branch).toMatch(/^cand\/\d{8}T\d{6}Z$/);
      // The run added its branch and nothing else: no file, ref, index entry or HEAD of the checkout moved.
      expect(checkoutState(repo.dir).replace(`refs/heads/${outcome.branch} ${outcome.commit}\n`, "")).toBe(before);
      const files = gitSync(repo.dir, ["ls-tree", "-r", "--name-only", outcome.branch, "tools/generated"]).trim().split("\n");
      expect(files.sort()).toEqual(["metadata.json", "tool.test.ts", "tool.ts"].map((file) => `tools/generated/${name}/${file}`));
      expectValidatedAtDefaults(repo.dir, outcome.branch, name);
      const metadata = parseToolMetadata(gitSync(repo.dir, ["show", `${outcome.branch}:tools/generated/${name}/metadata.json`]), "metadata.json");
      expect(metadata.provenance.phases.map((phase) => phase.phase)).toEqual(["spec", "implementation", "tests"]);
      expect(metadata.provenance.phases[0]?.baseUrl).toBe(server.url);
      expect(gitSync(repo.dir, ["log", "-1", "--format=%(trailers:key=Org-Tool,valueonly)", outcome.branch]).trim()).toBe(name);
      expect(events.map((event) => event.type)).toContain("branch-created");
      expect(events.filter((event) => event.type === "validation-stage")).toHaveLength(6);
      expect(worktreesLeft(repo.dir)).toEqual([]);
      landed.push(outcome.branch);
    }
    const sentBack = server.requests.map((request) => JSON.stringify(request.body)).filter((body) => body.includes("Call submit_spec again"));
    expect(sentBack).toHaveLength(2);
    expect(sentBack[0]).toContain("name: must be snake_case");
    expect(sentBack[1]).toContain("the name web_fetch is taken");
    expect(new Set(landed).size).toBe(TOOL_FIXTURES.length);
    const branches = gitSync(repo.dir, ["for-each-ref", "--format=%(refname:short)", "refs/heads/cand/"]).trim().split("\n");
    expect(branches.sort()).toEqual([...landed].sort());
  }, 240_000);

  // Each with a repository and a scripted server of its own, and most of their time spent waiting on sandboxes: at once.
  for (const bad of BAD) {
    test.concurrent(`refused: ${bad.label}`, async () => {
      using repo = tempGitRepo();
      const rules = toolsmithRules(bad.fixture, { ...(bad.tool ? { tools: [bad.tool] } : {}), ...(bad.tests ? { tests: [bad.tests] } : {}) });
      await using server = await startScriptedServer({ script: { rules } });
      const outcome = await runToolsmith({
        records: toolsmithRecords,
        ...testSandboxAccess(),
        goal: bad.fixture.goal,
        model: httpModel({ server: server.url, modelId: "qwen3:8b" }),
        repoDir: repo.dir,
        settings: { implementationRepairs: 0, testRepairs: 0, testTimeoutMs: 15_000 },
      });
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      const stage = /failed the (\w+) stage/.exec(outcome.failure)?.[1];
      expect(bad.stages).toContain(stage as string);
      expect(gitSync(repo.dir, ["for-each-ref", "refs/heads/cand/"])).toBe("");
    }, 60_000);
  }
});
