import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ReadOnlyMount } from "../sandbox/bwrap-argv.ts";
import { describeSandboxResult, sanitizeOutput } from "../sandbox/describe-result.ts";
import { readSandboxFile, SandboxFileError } from "../sandbox/read-sandbox-file.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { SandboxResult } from "../sandbox/sandbox-result.ts";
import { RunnerResult } from "../generated-tools/run-generated-tool.ts";
import { redact } from "../security/redact.ts";
import {
  SANDBOX_BUN,
  SANDBOX_ISOLATED_TEST_RUNS,
  SANDBOX_RUNNER,
  SANDBOX_TOOL_DIR,
  SANDBOX_TOOL_SOURCE_PRELOAD,
  SANDBOX_TSGO,
  TOOLCHAIN_ENV,
  toolchainMounts,
} from "../generated-tools/sandbox-toolchain.ts";
import type { Mutant } from "./mutants.ts";
import { randomHex } from "../concurrency/random-hex.ts";

/**
 * The folders of one validation run on the host: the tool (read-only inside), config, mutants, requests, and the
 * scratch folders. Stages may run at the same time, so each that can has a scratch of its own: nothing one writes
 * reaches another (`scratch` is the fixed runner's, for the examples and determinism runs, which follow each other).
 */
export type ValidationDirs = {
  tool: string;
  config: string;
  mutants: string;
  requests: string;
  scratch: string;
  stageScratch: { typecheck: string; tests: string; mutants: string };
};

/** Makes the folders of a validation run under `runDir`, readable by the sandbox uid. */
export function validationDirs(runDir: string): ValidationDirs {
  const dirs = {
    tool: join(runDir, "tool"),
    config: join(runDir, "config"),
    mutants: join(runDir, "mutants"),
    requests: join(runDir, "requests"),
    scratch: join(runDir, "scratch"),
    stageScratch: { typecheck: join(runDir, "scratch-typecheck"), tests: join(runDir, "scratch-tests"), mutants: join(runDir, "scratch-mutants") },
  };
  for (const directory of [dirs.tool, dirs.config, dirs.mutants, dirs.requests]) mkdirSync(directory, { recursive: true, mode: 0o755 });
  return dirs;
}

// The most the host reads back of what a sandbox wrote: a coverage report, one run's result (with what the tool printed).
const MAX_LCOV_BYTES = 4 * 1024 * 1024;
const MAX_RESULT_BYTES = 4 * 1024 * 1024;

const MOUNT = { config: "/org/config", mutants: "/org/mutants", requests: "/org/requests" };

function mounts(dirs: ValidationDirs): ReadOnlyMount[] {
  return [
    ...toolchainMounts(),
    { source: dirs.tool, target: SANDBOX_TOOL_DIR },
    { source: dirs.config, target: MOUNT.config },
    { source: dirs.mutants, target: MOUNT.mutants },
    { source: dirs.requests, target: MOUNT.requests },
  ];
}

function run(
  dirs: ValidationDirs,
  access: SandboxAccess,
  scratchDir: string,
  argv: string[],
  timeoutMs: number,
  signal?: AbortSignal,
  stdin?: string,
  env: Record<string, string> = {},
): Promise<SandboxResult> {
  return access.sandbox.run({
    policy: access.sandboxPolicy,
    argv,
    stdin,
    scratchDir,
    timeoutMs,
    readOnlyMounts: mounts(dirs),
    env: { ...TOOLCHAIN_ENV, ...env },
    network: false,
    limits: { outputBytes: 256 * 1024 },
    abortSignal: signal,
  });
}

/** Output of a run fit for a prompt: sanitized, redacted, cut to its last `max` characters. */
export function outputForModel(text: string, max = 3_000): string {
  const clean = redact(sanitizeOutput(text)).trim();
  return clean.length > max ? `…${clean.slice(-max)}` : clean;
}

/**
 * Go's collector off until the heap reaches GOMEMLIMIT: the compiler parses about 400 declaration files (bun's, node's,
 * zod's) for each check, and Go's default collector (each time the heap doubles from 4 MB) walks them again and again,
 * about a third of the compiler's CPU time; measured, its peak memory stays about 80 MB either way. Below the limit
 * the heap grows to at most 256 MiB uncollected; past it the collector keeps the heap near what is live (where the
 * default lets it reach twice that), so a check that fits in the sandbox's 1 GiB per process with the default fits
 * with this too.
 */
const TSGO_ENV = { GOGC: "off", GOMEMLIMIT: "256MiB" };

/** Typechecks tool.ts and tool.test.ts with the native TypeScript compiler; which file the errors are in. */
export async function typecheckStage(dirs: ValidationDirs, access: SandboxAccess, signal?: AbortSignal) {
  writeFileSync(
    join(dirs.config, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: "ESNext",
        module: "Preserve",
        moduleResolution: "bundler",
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        lib: ["ESNext"],
        types: ["bun"],
        typeRoots: ["/node_modules/@types"],
      },
      files: [`${SANDBOX_TOOL_DIR}/tool.ts`, `${SANDBOX_TOOL_DIR}/tool.test.ts`],
    }),
  );
  const result = await run(
    dirs,
    access,
    dirs.stageScratch.typecheck,
    [SANDBOX_TSGO, "-p", `${MOUNT.config}/tsconfig.json`, "--pretty", "false"],
    60_000,
    signal,
    undefined,
    TSGO_ENV,
  );
  const output = `${result.stdout}\n${result.stderr}`;
  const errorLines = output.split("\n").filter((line) => /error TS\d+/.test(line));
  const onlyTests = errorLines.length > 0 && errorLines.every((line) => line.includes("tool.test.ts"));
  return { ok: result.exitCode === 0 && !result.timedOut, onlyTests, output: outputForModel(output), result };
}

/** Runs the tests once with line coverage; counts and the coverage of tool.ts (0 when the tests never load it). */
export async function testsStage(dirs: ValidationDirs, access: SandboxAccess, timeoutMs: number, signal?: AbortSignal) {
  const result = await run(
    dirs,
    access,
    dirs.stageScratch.tests,
    // From the tool's folder, tool.ts piped in and served as /org/tool/tool.ts by `tool-source-preload.ts`, as each
    // mutant is served at that path in the mutants stage: one path, one file name, one environment, stdin a pipe read
    // to its end. Under `timeout`, set past the sandbox's own limit.
    [
      "/bin/sh",
      "-c",
      `cat ${SANDBOX_TOOL_DIR}/tool.ts | { cd ${SANDBOX_TOOL_DIR} && timeout -s KILL ` +
        `${Math.ceil(timeoutMs / 1000) + 5} ${SANDBOX_BUN} test --preload ${SANDBOX_TOOL_SOURCE_PRELOAD} ` +
        `--coverage --coverage-reporter=lcov --coverage-dir=/scratch/coverage ./tool.test.ts; }`,
    ],
    timeoutMs,
    signal,
  );
  const passed = Number(/^\s*(\d+) pass/m.exec(result.stderr)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail/m.exec(result.stderr)?.[1] ?? 0);
  let coverage = 0;
  let unreadable: string | undefined;
  try {
    const lcov = readSandboxFile(dirs.stageScratch.tests, "coverage/lcov.info", MAX_LCOV_BYTES);
    coverage = lcov ? toolLineCoverage(lcov.toString("utf8")) : 0;
  } catch (error) {
    if (!(error instanceof SandboxFileError)) throw error;
    unreadable = `the coverage report ${error.message}`;
  }
  const ok = result.exitCode === 0 && !result.timedOut && failed === 0 && passed > 0;
  const summary = result.timedOut ? `the tests ran past ${timeoutMs} ms and were killed\n` : "";
  return { ok, passed, failed, coverage, unreadable, output: outputForModel(summary + describeSandboxResult(result).output) };
}

/** Line coverage of tool.ts from an lcov report: lines hit over lines found; 0 when tool.ts is absent. */
export function toolLineCoverage(lcov: string): number {
  for (const record of lcov.split("end_of_record")) {
    const file = /^SF:(.*)$/m.exec(record)?.[1]?.trim();
    if (!file || !(file === "tool.ts" || file.endsWith("/tool.ts"))) continue;
    const found = Number(/^LF:(\d+)$/m.exec(record)?.[1] ?? 0);
    const hit = Number(/^LH:(\d+)$/m.exec(record)?.[1] ?? 0);
    return found === 0 ? 0 : hit / found;
  }
  return 0;
}

/**
 * Runs the tests against every mutant, each bounded, one after another in a warm `bun test --isolate` process
 * (`generated-tools/isolated-test-runs.ts`): each mutant's run gets a fresh global object and module registry, and
 * tool.ts served from the mutant at /org/tool/tool.ts; which mutants the tests caught.
 */
export async function mutantsStage(dirs: ValidationDirs, access: SandboxAccess, mutants: Mutant[], timeoutMs: number, signal?: AbortSignal) {
  const names = mutants.map((_, index) => `m${String(index).padStart(2, "0")}.ts`);
  for (const [index, mutant] of mutants.entries()) writeFileSync(join(dirs.mutants, names[index] ?? ""), mutant.code);
  const perRunMs = Math.max(1_000, Math.ceil(timeoutMs));
  const request = { sources: names.map((name) => `${MOUNT.mutants}/${name}`), perRunMs, reportDir: "/scratch/reports" };
  // The list goes on the driver's stdin, not its command line, piped as in the tests stage: the tests find stdin a
  // pipe read to its end either way. The same `cd` as the tests stage's, so PWD and OLDPWD are the tests stage's too.
  const result = await run(
    dirs,
    access,
    dirs.stageScratch.mutants,
    ["/bin/sh", "-c", `cat | { cd ${SANDBOX_TOOL_DIR} && ${SANDBOX_BUN} ${SANDBOX_ISOLATED_TEST_RUNS}; }`],
    perRunMs * mutants.length + 40_000,
    signal,
    JSON.stringify(request),
  );
  const verdicts = new Map<number, string>();
  for (const [, index, verdict] of result.stdout.matchAll(/^(\d+) (passed|failed|timed-out)$/gm)) verdicts.set(Number(index), verdict ?? "");
  const survivors: string[] = [];
  let killed = 0;
  // Whether the time bound decided a verdict: a run killed past it, or one left without a verdict when the sandbox
  // (whose own limit follows the bound) ended first.
  const bounded = mutants.some((_, index) => verdicts.get(index) === "timed-out" || !verdicts.has(index));
  mutants.forEach((mutant, index) => {
    const verdict = verdicts.get(index);
    // No verdict (the sandbox ended first) counts as survived: only a run that failed catches a mutant.
    if (verdict === "failed" || verdict === "timed-out") killed += 1;
    else survivors.push(mutant.description);
  });
  return { total: mutants.length, killed, score: mutants.length === 0 ? 0 : killed / mutants.length, survivors, bounded };
}

/** What one run of the fixed runner gave for one input. */
export type RunnerOutcome = { ok: true; output: unknown } | { ok: false; error: string };

/**
 * Runs the tool on each input through the fixed runner, `rounds` times, each call in a fresh process, all in one
 * sandbox. The later rounds run only when every call of the first gave a result (any other outcome fails the
 * examples, which the later rounds cannot change): a tool that hangs costs one round of timeouts, not three.
 * Up to two calls that gave no result run once more, alone. Result: outcomes[round][input], a round that did not run with no result for any input.
 */
export async function runnerStage(
  dirs: ValidationDirs,
  access: SandboxAccess,
  inputSchema: Record<string, unknown>,
  inputs: unknown[],
  rounds: number,
  toolTimeoutMs: number,
  signal?: AbortSignal,
): Promise<RunnerOutcome[][]> {
  const markers: string[][] = [];
  const names: string[][] = [];
  for (let round = 0; round < rounds; round += 1) {
    markers.push([]);
    names.push([]);
    inputs.forEach((input, index) => {
      const marker = `org-result-${randomHex(16)}`;
      markers[round]?.push(marker);
      const name = `r${round}e${String(index).padStart(2, "0")}.json`;
      names[round]?.push(name);
      writeFileSync(
        join(dirs.requests, name),
        JSON.stringify({ marker, toolPath: `${SANDBOX_TOOL_DIR}/tool.ts`, inputSchema, input, timeoutMs: toolTimeoutMs }),
      );
    });
  }
  const seconds = Math.ceil(toolTimeoutMs / 1000) + 3;
  // Two at a time (the machines this targets have two cores), each call its own process, its result in its own
  // file. Request names are ours (r0e00.json …); nothing model-made reaches this command line.
  const runAll = (batch: string[], parallel = 2) =>
    `printf '%s\\n' ${batch.join(" ")} | xargs -P ${parallel} -I{} /bin/sh -c 'timeout -s KILL ${seconds} ` +
    `${SANDBOX_BUN} ${SANDBOX_RUNNER} < ${MOUNT.requests}/{} > /scratch/out/{} 2>/dev/null'`;
  const [first = [], ...later] = names;
  // Whether each first-round call printed a result; only decides whether to go on (what the tool printed can pass
  // for one, and then the later rounds just run): the host reads every result itself, after its marker.
  const firstRoundGaveResults =
    `for f in ${first.join(" ")}; do [ -f "/scratch/out/$f" ] && grep -qs ` + `'^{"ok":true,' "/scratch/out/$f" || exit 1; done`;
  let outcomes: RunnerOutcome[][] = [];
  /** Runs `script` in the sandbox, given time for `calls` calls `parallel` at a time, then reads every result again. */
  const runScript = async (script: string, calls: number, parallel: number) => {
    await run(dirs, access, dirs.scratch, ["/bin/sh", "-c", script], (calls * seconds * 1000) / parallel + 30_000, signal);
    outcomes = readRunnerOutcomes(dirs, markers);
  };
  const script = [
    "rm -rf /scratch/out && mkdir /scratch/out",
    runAll(first),
    ...(later.length > 0 ? [`if (${firstRoundGaveResults}); then ${runAll(later.flat())}; fi`] : []),
    "true",
  ].join("; ");
  await runScript(script, names.flat().length, 2);
  // One or two calls with no result among others that gave one are more likely a moment of load (bun starting late
  // on a busy machine) than the tool: those run once more, one at a time, and that run decides. A tool that hangs
  // or crashes on more calls than that is judged on what it did.
  const retry = async (rounds: number[]) => {
    const missing = rounds.flatMap((round) => (names[round] ?? []).filter((_, index) => isNoResult(outcomes[round]?.[index])));
    if (missing.length === 0 || missing.length > RETRIED_CALLS || signal?.aborted) return;
    await runScript(`${missing.map((name) => `rm -f /scratch/out/${name}`).join("; ")}; ${runAll(missing, 1)}; true`, missing.length, 1);
  };
  const firstOk = () => outcomes[0]?.every((outcome) => outcome.ok) ?? false;
  if (!firstOk()) {
    await retry([0]);
    // The later rounds were skipped for the first round's sake: now that it gave every result, they run.
    if (!firstOk() || later.length === 0 || signal?.aborted) return outcomes;
    await runScript(`${runAll(later.flat())}; true`, later.flat().length, 2);
  }
  await retry(later.map((_, index) => index + 1));
  return outcomes;
}

/** How many calls that gave no result `runnerStage` runs once more. */
const RETRIED_CALLS = 2;
const NO_RESULT = "the tool ended without a result (killed, crashed or timed out)";
const isNoResult = (outcome: RunnerOutcome | undefined) => outcome !== undefined && !outcome.ok && outcome.error === NO_RESULT;

/** The outcomes the runs of `runnerStage` left in scratch (`out/r<round>e<index>.json`), read through `readSandboxFile`. */
export function readRunnerOutcomes(dirs: ValidationDirs, markers: string[][]): RunnerOutcome[][] {
  return markers.map((roundMarkers, round) =>
    roundMarkers.map((marker, index): RunnerOutcome => {
      const name = `r${round}e${String(index).padStart(2, "0")}.json`;
      let stdout: string;
      try {
        stdout = readSandboxFile(dirs.scratch, `out/${name}`, MAX_RESULT_BYTES)?.toString("utf8") ?? "";
      } catch (error) {
        if (!(error instanceof SandboxFileError)) throw error;
        return { ok: false, error: `the tool's result file ${error.message}` };
      }
      const at = stdout.lastIndexOf(`\n${marker}\n`);
      if (at < 0) return { ok: false, error: NO_RESULT };
      const line = stdout.slice(at + marker.length + 2).split("\n", 1)[0] ?? "";
      try {
        const value = RunnerResult.parse(JSON.parse(line));
        return value.ok ? { ok: true, output: value.output } : { ok: false, error: value.error };
      } catch {
        return { ok: false, error: "the tool's result could not be read" };
      }
    }),
  );
}
