// Sandbox overhead: `true` and `python3 -c pass` started bare, in bwrap alone and through runSandboxed (handed to
// a sandbox started ahead of need, and started fresh with the pool off), interleaved in one run, plus the watchdog
// scan, the host's event loop beside a crowded scratch, the redactor on 1 MB of output, the first sh call in a
// fresh workspace against later ones (each in a fresh process), and `org sandbox run -- /bin/true` as a whole
// process against a bare `bun -e 0`. Ends with issue 21's targets, each against its baseline from this run.
//   bun bench/sandbox.ts [--runs 40] [--processes 10] [--pause-ms 50]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { orgCommand } from "../config/org-bun-command.ts";
import { measureTree, TreeListings } from "../sandbox/measure-tree.ts";
import { redact } from "../security/redact.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { SandboxOptions } from "../sandbox/sandbox-options.ts";
import type { SandboxResult } from "../sandbox/sandbox-result.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { sandboxPidNamespace } from "../sandbox/pid-namespace.ts";
import { usageIn } from "../sandbox/run-watchdog.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "40" }, processes: { type: "string", default: "10" }, "pause-ms": { type: "string", default: "50" } },
});
const runs = Number(values.runs);
const processRuns = Number(values.processes);
// Tool calls come seconds apart (a model writes between them): each timed run is followed by this untimed
// pause, in which the sandbox for the next call starts, as it would between two real calls.
const pauseMs = Number(values["pause-ms"]);
const loadAtStart = loadavg();
const root = mkdtempSync(join(tmpdir(), "org-bench-sandbox-"));
const scratchDir = join(root, "scratch");
// One sandbox for the bench, as one org process has, under the default policy.
const sandbox = new Sandbox();
const runSandboxed = (options: Omit<SandboxOptions, "policy">): Promise<SandboxResult> => sandbox.run({ policy: DEFAULT_SANDBOX_POLICY, ...options });

async function bare(argv: string[]): Promise<void> {
  const proc = Bun.spawn(argv, { env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"] });
  await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).arrayBuffer(), proc.exited]);
}

async function sandboxed(argv: string[]): Promise<void> {
  const result = await runSandboxed({ argv, scratchDir, timeoutMs: 10_000 });
  if (result.exitCode !== 0) throw new Error(`sandboxed ${argv.join(" ")} failed: ${result.stderr}`);
}

/**
 * A sandbox started for this call alone, as before the pool: a scratch of its own that no waiting sandbox
 * matches, removed before the pool would start one for it (the pool makes no scratch again).
 */
let freshRuns = 0;
async function sandboxedFresh(argv: string[]): Promise<void> {
  const freshScratch = join(root, `fresh-scratch-${freshRuns++}`);
  const result = await runSandboxed({ argv, scratchDir: freshScratch, timeoutMs: 10_000 });
  rmSync(freshScratch, { recursive: true, force: true });
  if (result.exitCode !== 0) throw new Error(`sandboxed ${argv.join(" ")} failed: ${result.stderr}`);
}

// bwrap with the namespaces only: no uid drop, no prlimit, no seccomp, no watchdog.
const BWRAP_ONLY = [
  "bwrap",
  "--unshare-all",
  "--die-with-parent",
  "--new-session",
  "--ro-bind",
  "/usr",
  "/usr",
  "--symlink",
  "usr/bin",
  "/bin",
  "--symlink",
  "usr/lib",
  "/lib",
  "--symlink",
  "usr/lib64",
  "/lib64",
  "--proc",
  "/proc",
  "--dev",
  "/dev",
  "--",
];

const variants: [string, () => Promise<void>][] = [
  ["true: bare spawn", () => bare(["/usr/bin/true"])],
  ["true: bwrap only", () => bare([...BWRAP_ONLY, "/usr/bin/true"])],
  ["true: runSandboxed", () => sandboxed(["/usr/bin/true"])],
  ["true: runSandboxed, pool off", () => sandboxedFresh(["/usr/bin/true"])],
  ["python3 -c pass: bare spawn", () => bare(["/usr/bin/python3", "-c", "pass"])],
  ["python3 -c pass: runSandboxed", () => sandboxed(["/usr/bin/python3", "-c", "pass"])],
];

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

await sandbox.ensureAvailable();
for (const [, run] of variants) for (let warm = 0; warm < 3; warm += 1) await run();
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let round = 0; round < runs; round += 1) {
  for (const [name, run] of variants) {
    const started = performance.now();
    await run();
    samples.get(name)?.push(performance.now() - started);
    await Bun.sleep(pauseMs);
  }
}

console.log(
  `sandbox overhead — ${runs} runs each, interleaved, ${pauseMs} ms apart; ${availableParallelism()} cores; ` +
    `${process.arch}; uid ${process.getuid?.()}; ` +
    `load ${loadAtStart.map((load) => load.toFixed(2)).join(" ")}`,
);
const stats = new Map<string, { median: number; p90: number }>();
for (const [name, times] of samples) {
  const sorted = [...times].sort((a, b) => a - b);
  stats.set(name, { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) });
}
for (const [name, { median, p90 }] of stats)
  console.log(`  ${name.padEnd(32)} median ${median.toFixed(2).padStart(7)} ms   p90 ${p90.toFixed(2).padStart(7)} ms`);
for (const [program, boxedName] of [
  ["true", "true: runSandboxed"],
  ["true", "true: runSandboxed, pool off"],
  ["python3 -c pass", "python3 -c pass: runSandboxed"],
] as const) {
  const base = stats.get(`${program}: bare spawn`);
  const boxed = stats.get(boxedName);
  if (!base || !boxed) continue;
  console.log(
    `  overhead ${boxedName.padEnd(30)} +${(boxed.median - base.median).toFixed(2)} ms median ` +
      `(x${(boxed.median / base.median).toFixed(1)} a bare spawn), ` +
      `+${(boxed.p90 - base.p90).toFixed(2)} ms p90`,
  );
}

// One watchdog tick's /proc scan while a sandbox is alive.
const sleeper = Bun.spawn([...BWRAP_ONLY, "/usr/bin/sleep", "5"], { env: { PATH: "/usr/bin:/bin" } });
await Bun.sleep(100);
const namespace = sandboxPidNamespace(sleeper.pid);
if (namespace) {
  const started = performance.now();
  const device = statSync(root).dev;
  for (let tick = 0; tick < 20; tick += 1) usageIn(namespace, device);
  console.log(`  watchdog /proc scan (memory, fds) ${((performance.now() - started) / 20).toFixed(2)} ms per tick (every 200 ms)`);
}
sleeper.kill("SIGKILL");

// The host's event loop while a sandbox runs over a crowded scratch (a node_modules' worth of directories):
// the watchdog walks it on a worker thread, so a 10 ms timer should fire as often as beside an empty one.
async function eventLoopDuring(scratch: string): Promise<{ ticks: number; worstGapMs: number; cpuMs: number }> {
  let ticks = 0;
  let worstGapMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worstGapMs = Math.max(worstGapMs, now - last);
    last = now;
    ticks += 1;
  }, 10);
  const cpuBefore = process.cpuUsage();
  await runSandboxed({ argv: ["/usr/bin/sleep", "2"], scratchDir: scratch, timeoutMs: 10_000 });
  clearInterval(timer);
  const cpu = process.cpuUsage(cpuBefore);
  return { ticks, worstGapMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}
const crowded = join(root, "crowded");
// Made by a sandboxed run, as a package install in scratch would leave them.
await runSandboxed({ argv: ["/bin/sh", "-c", "mkdir $(seq -f 'd%g' 1 18000)"], scratchDir: crowded, timeoutMs: 60_000 });
const quiet = await eventLoopDuring(scratchDir);
const busy = await eventLoopDuring(crowded);
console.log(
  `  event loop during a 2 s run: empty scratch ${quiet.ticks} ticks of 10 ms, worst gap ${quiet.worstGapMs.toFixed(0)} ms, ` +
    `host CPU ${quiet.cpuMs.toFixed(0)} ms; 18 000 directories ${busy.ticks} ticks (x${(busy.ticks / quiet.ticks).toFixed(2)}), ` +
    `worst gap ${busy.worstGapMs.toFixed(0)} ms, host CPU ${busy.cpuMs.toFixed(0)} ms (x${(busy.cpuMs / quiet.cpuMs).toFixed(1)})`,
);

// One re-measure of that crowded scratch, as the watchdog walks it again: reading every directory (the
// baseline) against reading only those changed since the last walk.
function medianWalkMs(reuseListings: boolean): number {
  const options = reuseListings ? { listings: new TreeListings() } : {};
  measureTree(crowded, 2 ** 40, 1_000_000, options);
  const times: number[] = [];
  for (let run = 0; run < 15; run += 1) {
    const started = performance.now();
    measureTree(crowded, 2 ** 40, 1_000_000, options);
    times.push(performance.now() - started);
  }
  return quantile(
    times.sort((a, b) => a - b),
    0.5,
  );
}
const fresh = medianWalkMs(false);
const reused = medianWalkMs(true);
console.log(
  `  walk of 18 000 quiet directories: reading all ${fresh.toFixed(1)} ms, unchanged ones reused ${reused.toFixed(1)} ms ` +
    `(x${(fresh / reused).toFixed(1)} faster)`,
);

// Where the watchdog stops a writer at page-cache speed, 4 MiB a file, against a 48 MiB scratch limit: in a scratch
// it watches (inotify) and in one too crowded to watch (2 100 directories: the free-space sentinel alone). How far
// past the limit it gets depends on how soon org is given the CPU, so it is measured here, not bounded in a test.
async function stopSizes(crowd: boolean): Promise<number[]> {
  const sizes: number[] = [];
  for (let run = 0; run < 5; run += 1) {
    const writerScratch = join(root, `writer-${crowd ? "crowded" : "watched"}-${run}`);
    const setUp = crowd ? "mkdir $(seq -f d%g 0 2100) || exit 1; sleep 0.5; " : "";
    const result = await runSandboxed({
      argv: ["/bin/sh", "-c", `${setUp}i=0; while head -c 4M /dev/zero > f$i; do i=$((i+1)); done`],
      scratchDir: writerScratch,
      timeoutMs: 10_000,
      limits: { scratchBytes: SCRATCH_LIMIT },
    });
    if (!/killed because the scratch directory grew/.test(result.stderr))
      throw new Error(`the writer was not stopped by the scratch limit: ${result.stderr}`);
    sizes.push(measureTree(writerScratch, 2 ** 40, 1_000_000).bytes);
    rmSync(writerScratch, { recursive: true, force: true });
  }
  return sizes.sort((a, b) => a - b);
}
const SCRATCH_LIMIT = 48 * 1024 * 1024;
for (const crowd of [false, true]) {
  const sizes = await stopSizes(crowd);
  const times = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB (x${(bytes / SCRATCH_LIMIT).toFixed(2)})`;
  console.log(
    `  a fast writer in a ${crowd ? "crowded scratch (sentinel)" : "watched scratch (inotify)"}, 48 MiB limit: stopped at median ` +
      `${times(quantile(sizes, 0.5))}, worst ${times(sizes.at(-1) ?? Number.NaN)} of 5`,
  );
}

const line = `build step 42 ok ${"x".repeat(40)} 4b825dc642cb6eb9a060e54bf8d69288fbee4904 path/to/file.ts:12\n`;
const megabyte = line.repeat(Math.ceil(1_000_000 / line.length));
for (const [label, known] of [
  ["redact 1 MB of tool output", []],
  ["  … knowing one secret value", ["org-bench-secret-Zx81Kq02"]],
] as const) {
  const times: number[] = [];
  for (let run = 0; run < 20; run += 1) {
    const started = performance.now();
    redact(megabyte, known);
    times.push(performance.now() - started);
  }
  const sorted = times.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(32)} median ${quantile(sorted, 0.5).toFixed(2)} ms   p90 ${quantile(sorted, 0.9).toFixed(2)} ms`);
}

// Whole processes, timed from spawn to exit, interleaved with their baseline.
async function timeProcess(argv: string[], cwd: string): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const proc = Bun.spawn(argv, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const ms = performance.now() - started;
  if (proc.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${proc.exitCode}): ${stderr}`);
  return { ms, stdout };
}
const signed = (ms: number) => `${ms >= 0 ? "+" : ""}${ms.toFixed(1)}`;
const medianOf = (times: number[]) =>
  quantile(
    [...times].sort((a, b) => a - b),
    0.5,
  );

// The first sandboxed tool call of a process in a fresh workspace against its later calls: the sh tool as a
// room calls it (runTool), three calls a process, each process new: as the room runs it (the session's sandbox
// started when it opens, by sh's prepare, a pause before the first call); with the pool but nothing started at
// open (a second call like the first starts the next one); and with the pool off (every call starts its own).
type CallMode = "pool" | "off" | "prestart";
const callScript = (workspace: string, mode: CallMode) =>
  [
    `import { runTool } from ${JSON.stringify(join(import.meta.dir, "..", "tools", "define-tool.ts"))};`,
    `import { sh } from ${JSON.stringify(join(import.meta.dir, "..", "tools", "sh.ts"))};`,
    `import { Sandbox } from ${JSON.stringify(join(import.meta.dir, "..", "sandbox", "run-sandboxed.ts"))};`,
    `import { DEFAULT_SANDBOX_POLICY } from ${JSON.stringify(join(import.meta.dir, "..", "sandbox", "sandbox-policy.ts"))};`,
    `import { WorkspaceCopies } from ${JSON.stringify(join(import.meta.dir, "..", "workspace", "workspace-copies.ts"))};`,
    "const access = { sandbox: new Sandbox(), sandboxPolicy: DEFAULT_SANDBOX_POLICY, workspaceCopies: new WorkspaceCopies() };",
    mode === "off" ? "access.sandbox.pool.resize(0);" : "",
    mode === "prestart"
      ? `sh.prepare?.({ workspaceDir: ${JSON.stringify(workspace)}, sessionId: "bench", ...access }); await Bun.sleep(${pauseMs});`
      : "",
    "const times = [];",
    "for (let call = 0; call < 3; call += 1) {",
    "  const started = performance.now();",
    `  const result = await runTool(new Map([["sh", sh]]), { name: "sh", arguments: { cmd: "echo hi" } }, { ` +
      `signal: new AbortController().signal, workspaceDir: ${JSON.stringify(workspace)}, sessionId: "bench", ...access });`,
    "  times.push(performance.now() - started);",
    "  if (!result.ok) throw new Error(result.output);",
    `  await Bun.sleep(${pauseMs});`,
    "}",
    "console.log(JSON.stringify(times));",
  ].join("\n");
const calls: Record<CallMode, { first: number[]; later: number[] }> = {
  pool: { first: [], later: [] },
  off: { first: [], later: [] },
  prestart: { first: [], later: [] },
};
for (let run = 0; run < processRuns; run += 1) {
  for (const mode of ["pool", "off", "prestart"] as const) {
    const workspace = mkdtempSync(join(root, "workspace-"));
    const times: unknown = JSON.parse((await timeProcess([process.execPath, "-e", callScript(workspace, mode)], workspace)).stdout);
    if (!Array.isArray(times) || !times.every((time) => typeof time === "number"))
      throw new Error(`the call script printed ${JSON.stringify(times)}`);
    calls[mode].first.push(times[0] ?? Number.NaN);
    calls[mode].later.push(...times.slice(1));
  }
}
const firstMedian = medianOf(calls.pool.first);
const laterMedian = medianOf(calls.pool.later);
const firstOffMedian = medianOf(calls.off.first);
const laterOffMedian = medianOf(calls.off.later);
const firstPrestartedMedian = medianOf(calls.prestart.first);
console.log(
  `  sh tool call in a fresh workspace (${processRuns} fresh processes each): first median ${firstMedian.toFixed(1)} ms, later median ` +
    `${laterMedian.toFixed(1)} ms (x${(firstMedian / laterMedian).toFixed(2)}); pool off: first ${firstOffMedian.toFixed(1)} ms, later ` +
    `${laterOffMedian.toFixed(1)} ms (x${(firstOffMedian / laterOffMedian).toFixed(2)}); as the room runs it (sh's prepare at open): first ` +
    `${firstPrestartedMedian.toFixed(1)} ms, later ${medianOf(calls.prestart.later).toFixed(1)} ms`,
);

// `org sandbox run -- /bin/true` from start to exit, against bun starting and exiting, and org's start-up alone.
const wholeProcess: [string, string[]][] = [
  ["bun -e 0", [process.execPath, "-e", "0"]],
  ["org --help", orgCommand(["--help"])],
  ["org sandbox run -- /bin/true", orgCommand(["sandbox", "run", "--", "/bin/true"])],
];
for (const [, argv] of wholeProcess) await timeProcess(argv, root);
const processTimes = new Map<string, number[]>(wholeProcess.map(([name]) => [name, []]));
for (let run = 0; run < processRuns; run += 1) {
  for (const [name, argv] of wholeProcess) processTimes.get(name)?.push((await timeProcess(argv, root)).ms);
}
const processMedians = new Map([...processTimes].map(([name, times]) => [name, medianOf(times)]));
for (const [name, median] of processMedians) console.log(`  whole process ${name.padEnd(30)} median ${median.toFixed(1)} ms`);
const bunStart = processMedians.get("bun -e 0") ?? Number.NaN;
const help = processMedians.get("org --help") ?? Number.NaN;
const sandboxRun = processMedians.get("org sandbox run -- /bin/true") ?? Number.NaN;
console.log(
  `  org sandbox run -- /bin/true: x${(sandboxRun / bunStart).toFixed(1)} a bare bun start, ${signed(sandboxRun - help)} ms over org --help ` +
    "(org's own start-up)",
);

// Issue 21's targets, each against its baseline from this run.
const stat = (name: string) => stats.get(name) ?? { median: Number.NaN, p90: Number.NaN };
const bareTrue = stat("true: bare spawn");
const bwrapTrue = stat("true: bwrap only");
const boxedTrue = stat("true: runSandboxed");
const freshTrue = stat("true: runSandboxed, pool off");
const over = (of: { median: number; p90: number }) => ({ median: of.median - bareTrue.median, p90: of.p90 - bareTrue.p90 });
const boxedOver = over(boxedTrue);
const verdict = (met: boolean) => (met ? "met" : "NOT met");
console.log(
  `targets (issue 21) — ${availableParallelism()} cores, load ${loadavg()
    .map((load) => load.toFixed(2))
    .join(" ")} at the end:`,
);
console.log(
  `  runSandboxed(true) over a bare spawn: ${signed(boxedOver.median)} ms median (target <= +5), ${signed(boxedOver.p90)} ms p90 (target <= +7): ` +
    `${verdict(boxedOver.median <= 5 && boxedOver.p90 <= 7)}`,
);
console.log(
  `    baselines: bwrap alone ${signed(over(bwrapTrue).median)} ms median, ${signed(over(bwrapTrue).p90)} ms p90; runSandboxed is ` +
    `x${(boxedOver.median / over(bwrapTrue).median).toFixed(2)} bwrap alone's overhead (pool off: ${signed(over(freshTrue).median)} ms, ` +
    `x${(over(freshTrue).median / over(bwrapTrue).median).toFixed(2)})`,
);
console.log(
  `  org sandbox run -- /bin/true: ${sandboxRun.toFixed(1)} ms median (target <= 120 ms; ` +
    `x${(sandboxRun / bunStart).toFixed(1)} bun -e 0): ${verdict(sandboxRun <= 120)}`,
);
console.log(
  `  first sh call in a fresh workspace, as the room runs it (its sandbox started when the session opens): ` +
    `x${(firstPrestartedMedian / medianOf(calls.prestart.later)).toFixed(2)} a later call (target <= x2): ` +
    `${verdict(firstPrestartedMedian <= 2 * medianOf(calls.prestart.later))}`,
);
console.log(
  `    nothing started at open: first x${(firstMedian / laterMedian).toFixed(2)} a later call; pool off: ` +
    `first x${(firstOffMedian / laterOffMedian).toFixed(2)} a later call`,
);
rmSync(root, { recursive: true, force: true });
