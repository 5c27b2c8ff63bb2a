// The toolsmith's cost with the model's time left out: validation of each known-good fixture tool, stage by
// stage (policy, typecheck, tests, mutants, examples, determinism), and the time to land a branch. Compared
// against bare sandbox start-up (`true` through runSandboxed) measured in the same run. Stages overlap (after the
// policy, typecheck, tests, mutants and examples start together; the mutants' time bound waits on the tests' time),
// so a stage's time is its own wall time and the stages add up to more than the whole. The examples' time includes
// the two later rounds of runs that determinism compares (one sandbox for all three), so determinism itself takes
// next to nothing.
//   bun bench/toolsmith.ts [--rounds 2]
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { landCandidate } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { TOOL_FIXTURES } from "../testing/toolsmith-fixtures.ts";
import { VALIDATION_STAGES, type ValidationStage, toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { validateTool } from "../toolsmith/validate-tool.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "2" } } });
const rounds = Number(values.rounds);
const root = mkdtempSync(join(tmpdir(), "org-bench-toolsmith-"));
chmodSync(root, 0o755);
const settings = ToolsmithSettings.parse({});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const at = (index: number) => sorted[index] ?? Number.NaN;
  return sorted.length % 2 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
};
const ms = (value: number) => `${Math.round(value)} ms`.padStart(8);

// One sandbox for the bench, as one org process has, under the default policy.
const access = { sandbox: new Sandbox(), sandboxPolicy: DEFAULT_SANDBOX_POLICY };
await access.sandbox.ensureAvailable();
// Warm-up: the first sandbox and the first bun start pay for cold caches.
await access.sandbox.run({ policy: access.sandboxPolicy, argv: ["/usr/bin/true"], scratchDir: join(root, "warm"), timeoutMs: 10_000 });

const sandboxStarts: number[] = [];
for (let index = 0; index < 10; index += 1) {
  const started = performance.now();
  await access.sandbox.run({ policy: access.sandboxPolicy, argv: ["/usr/bin/true"], scratchDir: join(root, "true"), timeoutMs: 10_000 });
  sandboxStarts.push(performance.now() - started);
}

const byStage = new Map<ValidationStage, number[]>(VALIDATION_STAGES.map((stage) => [stage, []]));
const totals: number[] = [];
const checks: { mutants: number[]; determinismRuns: number[] } = { mutants: [], determinismRuns: [] };
for (let round = 0; round < rounds; round += 1) {
  for (const fixture of TOOL_FIXTURES) {
    const spec = toolMetadataSchemas().ToolSpec.parse(fixture.spec);
    const started = performance.now();
    const report = await validateTool({
      runDir: join(root, `run-${fixture.key}`),
      spec,
      heldOut: spec.examples.slice(-1),
      toolCode: fixture.tool,
      testCode: fixture.tests,
      settings,
      ...access,
    });
    if (!report.ok) throw new Error(`${fixture.key} failed ${report.failure?.stage}: ${report.failure?.message}`);
    totals.push(performance.now() - started);
    checks.mutants.push(report.mutants.total);
    checks.determinismRuns.push(report.determinismRuns);
    for (const stage of report.stages) byStage.get(stage.stage)?.push(stage.durationMs);
  }
}

const landings: number[] = [];
{
  using repo = tempGitRepo("org-bench-land-");
  const git = new RepoGit(repo.dir);
  for (const [index, fixture] of TOOL_FIXTURES.entries()) {
    const name = fixture.spec.name as string;
    const started = performance.now();
    await landCandidate(
      git,
      {
        files: {
          [`tools/generated/${name}/tool.ts`]: fixture.tool,
          [`tools/generated/${name}/tool.test.ts`]: fixture.tests,
          [`tools/generated/${name}/metadata.json`]: "{}\n",
        },
        subject: `feat(tools): generated tool ${name}`,
        trailers: { "Org-Tool": name },
      },
      { now: () => new Date(Date.UTC(2026, 10, 23, 10, 0, index)) },
    );
    landings.push(performance.now() - started);
  }
}
rmSync(root, { recursive: true, force: true });

const total = median(totals);
const unit = median(sandboxStarts);
console.log(
  `toolsmith validation: ${TOOL_FIXTURES.length} known-good tools × ${rounds} rounds on ` +
    `${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)} (model time excluded)`,
);
console.log(`  sandbox start (true)  ${ms(unit)}  (the unit below: times as multiples of it)`);
for (const [stage, durations] of byStage) {
  if (durations.length === 0) continue;
  const value = median(durations);
  console.log(`  ${stage.padEnd(20)}  ${ms(value)}  ${(value / unit).toFixed(1).padStart(5)}×`);
}
const verdict = total <= 600 ? "met" : "NOT met";
console.log(
  `  all stages (median)   ${ms(total)}  ${(total / unit).toFixed(1).padStart(5)}×  max ` +
    `${Math.round(Math.max(...totals))} ms; target ≤ 600 ms: ${verdict}`,
);
console.log(
  `  checks: at least ${Math.min(...checks.mutants)} mutants per tool, ${Math.min(...checks.determinismRuns)} ` +
    `runs each in its own process for determinism`,
);
console.log(`landing a branch (worktree, commit, ref transaction, cleanup): median ${ms(median(landings))}`);
