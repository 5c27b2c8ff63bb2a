// Issue 30's two shares over the whole corpora: the ordinary corpus (toolsmith/ordinary-corpus.md) through the static
// policy and the toolsmith's whole validation (policy, typecheck, tests with coverage, mutants, held-out examples,
// determinism), one tool after another; the hostile corpus (toolsmith/hostile-code-corpus.ts) refused statically or
// contained at run time, in the fixed runner and under bun test. toolsmith/policy-corpus.test.ts runs the policy on
// all of it and the whole validation on a subset; this runs the whole validation on every tool.
//   bun bench/ordinary-corpus.ts [--only name,name] [--tool-timeout-ms 3000]
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import {
  RUNTIME_HOSTILE_CASES,
  runtimeCaseTool,
  runtimeProbeTests,
  runtimeProbeTool,
  STATIC_HOSTILE_CASES,
} from "../toolsmith/hostile-code-corpus.ts";
import { ordinaryCorpus, submittedSources } from "../toolsmith/ordinary-corpus.ts";
import { runnerStage, testsStage, validationDirs } from "../toolsmith/sandbox-stages.ts";
import { splitExamples } from "../toolsmith/split-examples.ts";
import { checkStaticPolicy } from "../toolsmith/static-policy.ts";
import { validateTool } from "../toolsmith/validate-tool.ts";

const { values } = parseArgs({ options: { only: { type: "string" }, "tool-timeout-ms": { type: "string" } } });
const only = values.only ? new Set(values.only.split(",")) : undefined;
const root = mkdtempSync(join(tmpdir(), "org-bench-corpus-"));
chmodSync(root, 0o755);
// The default bounds, unless --tool-timeout-ms raises a runner call's (on a loaded machine bun's start alone can take 3 s).
const settings = ToolsmithSettings.parse(values["tool-timeout-ms"] ? { toolTimeoutMs: Number(values["tool-timeout-ms"]) } : {});
const share = (part: number, whole: number) => `${part}/${whole} (${whole === 0 ? 0 : Math.round((part / whole) * 100)} %)`;

/** CPU seconds of this process and of the children it has waited for (the sandboxes), from /proc. */
function cpuSeconds(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime, stime, cutime, cstime are fields 14–17 of stat, 12–15 after the command.
  return [11, 12, 13, 14].reduce((sum, at) => sum + Number(fields[at] ?? 0), 0) / 100;
}

// One sandbox for the bench, as one org process has, under the default policy.
const access = { sandbox: new Sandbox(), sandboxPolicy: DEFAULT_SANDBOX_POLICY };
await access.sandbox.ensureAvailable();
const corpus = ordinaryCorpus().filter((tool) => !only || only.has(tool.name));

const policyRefused = corpus.filter((tool) => {
  const { toolCode, testCode } = submittedSources(tool);
  return checkStaticPolicy(toolCode, "tool").length + checkStaticPolicy(testCode, "tests").length > 0;
});

const failures: string[] = [];
const times: number[] = [];
const cpuBefore = cpuSeconds();
for (const tool of corpus) {
  const started = performance.now();
  const report = await validateTool({
    runDir: join(root, `validate-${tool.name}`),
    spec: tool.spec,
    heldOut: splitExamples(tool.spec, settings.heldOutShare).heldOut,
    ...submittedSources(tool),
    settings,
    ...access,
  });
  times.push(performance.now() - started);
  const verdict = report.ok
    ? `ok (mutants ${report.mutants.killed}/${report.mutants.total}, coverage ${Math.round(report.coverage * 100)} %)`
    : `FAILED ${report.failure?.stage}`;
  console.log(`${tool.name.padEnd(24)} ${String(Math.round(times.at(-1) ?? 0)).padStart(6)} ms  ${verdict}`);
  if (!report.ok) failures.push(`${tool.name}: ${report.failure?.stage}: ${report.failure?.message.split("\n").slice(0, 3).join(" ")}`);
}
const validationCpu = cpuSeconds() - cpuBefore;

const staticMissed = STATIC_HOSTILE_CASES.filter((entry) => !entry.refusal.test(checkStaticPolicy(entry.code, entry.role).join("\n")));
const dirs = validationDirs(join(root, "runtime-hostile"));
writeFileSync(join(dirs.tool, "tool.ts"), runtimeProbeTool(RUNTIME_HOSTILE_CASES));
writeFileSync(join(dirs.tool, "tool.test.ts"), runtimeProbeTests(RUNTIME_HOSTILE_CASES));
const schema = { type: "object", properties: { at: { type: "integer" } }, required: ["at"] };
const [[probed] = []] = await runnerStage(dirs, access, schema, [{ at: -1 }], 1, Math.max(10_000, settings.toolTimeoutMs));
const lines: string[] = probed?.ok ? (JSON.parse((probed.output as { result: string }).result) as string[]) : [];
const underTests = await testsStage(dirs, access, 60_000);
const runtimeContained = RUNTIME_HOSTILE_CASES.filter(
  (entry, at) => lines[at]?.startsWith("threw: ") === true && checkStaticPolicy(runtimeCaseTool(entry), "tool").length === 0,
);
const everyTestFailed = underTests.passed === 0 && underTests.failed === RUNTIME_HOSTILE_CASES.length * 2;
rmSync(root, { recursive: true, force: true });

const sorted = [...times].sort((a, b) => a - b);
console.log("");
console.log(`ordinary corpus: ${corpus.length} tools`);
console.log(`  static policy:     ${share(corpus.length - policyRefused.length, corpus.length)} pass`);
console.log(`  whole validation:  ${share(corpus.length - failures.length, corpus.length)} pass`);
console.log(
  `  validation time:   median ${Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)} ms a tool, ` +
    `${Math.round(times.reduce((a, b) => a + b, 0) / 1000)} s wall, ${Math.round(validationCpu)} s CPU in all ` +
    `(load average ${loadavg()[0]?.toFixed(1)})`,
);
for (const failure of failures) console.log(`  ${failure}`);
const hostileTotal = STATIC_HOSTILE_CASES.length + RUNTIME_HOSTILE_CASES.length;
const hostileStopped = STATIC_HOSTILE_CASES.length - staticMissed.length + (everyTestFailed ? runtimeContained.length : 0);
console.log(`hostile corpus: ${hostileTotal} cases`);
console.log(
  `  written forms refused statically:                  ${share(STATIC_HOSTILE_CASES.length - staticMissed.length, STATIC_HOSTILE_CASES.length)}`,
);
console.log(`  computed-key routes contained in the fixed runner: ${share(runtimeContained.length, RUNTIME_HOSTILE_CASES.length)}`);
console.log(`  … and under bun test (tests' scope and tool's):    ${share(underTests.failed, RUNTIME_HOSTILE_CASES.length * 2)}`);
console.log(`  refused or contained:                              ${share(hostileStopped, hostileTotal)}`);
if (failures.length > 0 || policyRefused.length > 0 || hostileStopped !== hostileTotal) process.exitCode = 1;
