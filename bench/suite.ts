// The suite as a newcomer runs it: `npm install && npm test` in a fresh clone of this checkout's HEAD (in a temp
// dir; this repository's git state is only read), each step's wall time and the CPU of it and everything it
// waited for, and the whole machine's CPU over each step (what leaves the step's process tree too: tmux windows,
// sandboxes, detached instances), with the core count and the load before and after. Minutes long: it runs the
// whole suite once.
// With --by-process every bun process of the run (bun test, each org command, serve) writes its argv and CPU at exit
// (bench/suite-account-preload.ts through BUN_OPTIONS), and the bench sums them by kind.
//   bun bench/suite.ts [--keep] [--by-process]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gitSync } from "../testing/temp-git-repo.ts";

const TARGET_SECONDS = 180;
const { values } = parseArgs({
  options: { keep: { type: "boolean", default: false }, "by-process": { type: "boolean", default: false } },
});

const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(" ");
const parent = mkdtempSync(join(tmpdir(), "org-bench-suite-"));
const clone = join(parent, "org");
const loadBefore = load();
gitSync(tmpdir(), ["clone", "--quiet", "--no-local", join(import.meta.dir, ".."), clone]);
const accountFolder = join(parent, "account");
mkdirSync(accountFolder);
const accounting = values["by-process"]
  ? { BUN_OPTIONS: `--preload=${join(import.meta.dir, "suite-account-preload.ts")}`, ORG_BENCH_ACCOUNT: accountFolder }
  : {};

type Step = { name: string; seconds: number; cpuSeconds: number; machineCpuSeconds: number; exitCode: number };

/**
 * The whole machine's CPU time so far (every process and the kernel: /proc/stat's first line without idle and iowait),
 * in seconds; NaN where there is no /proc/stat. The step's own rusage misses whatever leaves its process tree (tmux
 * windows, sandboxes, instances started detached), which this counts, with anything else running on the machine.
 */
function machineCpuSeconds(): number {
  try {
    const [, ...fields] = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/);
    const ticks = fields.slice(0, 8).map(Number);
    const busy = ticks.reduce((sum, value) => sum + value, 0) - (ticks[3] ?? 0) - (ticks[4] ?? 0);
    // In USER_HZ ticks: 100 a second on Linux's x86 and arm.
    return busy / 100;
  } catch {
    return Number.NaN;
  }
}

/** Runs one step in the clone, its output passed through, within `limitMs`; its wall time and CPU. */
async function step(name: string, argv: string[], limitMs: number): Promise<Step> {
  console.log(`— ${name} (${argv.join(" ")})`);
  const started = performance.now();
  const machineBefore = machineCpuSeconds();
  // The clone's own test command starts its own run id and reaper; the bench's environment is passed as it is.
  const child = Bun.spawn(argv, { cwd: clone, stdin: "ignore", stdout: "inherit", stderr: "inherit", env: { ...process.env, ...accounting } });
  const timer = setTimeout(() => child.kill("SIGTERM"), limitMs);
  const exitCode = await child.exited;
  clearTimeout(timer);
  const usage = child.resourceUsage();
  const cpuSeconds = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : Number.NaN;
  return { name, seconds: (performance.now() - started) / 1000, cpuSeconds, machineCpuSeconds: machineCpuSeconds() - machineBefore, exitCode };
}

type Exited = { argv: string[]; cpuMs: number; wallMs: number };

/** What kind of bun process `argv` was: `org` and its command words, `bun test`, or the script it ran. */
function kindOf(argv: string[]): string {
  const [first = "", ...rest] = argv;
  if (first.endsWith("/main.ts")) {
    const words = [];
    for (const word of rest) {
      if (!/^[a-z][a-z-]*$/.test(word) || words.length === 2) break;
      words.push(word);
    }
    return `org ${words.join(" ")}`.trim();
  }
  if (first === "test") return "bun test";
  return `bun ${first.split("/").slice(-2).join("/")}`;
}

/** The bun processes the test step started, summed by kind, against the step's whole CPU. */
function printByKind(stepCpuSeconds: number): void {
  const exited: Exited[] = readdirSync(accountFolder).flatMap((name) =>
    readFileSync(join(accountFolder, name), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Exited),
  );
  const kinds = new Map<string, { count: number; cpuMs: number; wallMs: number }>();
  for (const { argv, cpuMs, wallMs } of exited) {
    const kind = kindOf(argv);
    const sum = kinds.get(kind) ?? { count: 0, cpuMs: 0, wallMs: 0 };
    kinds.set(kind, { count: sum.count + 1, cpuMs: sum.cpuMs + cpuMs, wallMs: sum.wallMs + wallMs });
  }
  const total = exited.reduce((sum, { cpuMs }) => sum + cpuMs, 0) / 1000;
  console.log(
    `\nbun processes by kind (${exited.length} that exited normally, ${total.toFixed(0)} of the step's ${stepCpuSeconds.toFixed(0)} CPU-s):`,
  );
  console.log("kind".padEnd(40), "count".padStart(6), "CPU s".padStart(8), "ms each".padStart(8));
  for (const [kind, { count, cpuMs }] of [...kinds].sort((a, b) => b[1].cpuMs - a[1].cpuMs)) {
    console.log(
      kind.slice(0, 40).padEnd(40),
      String(count).padStart(6),
      (cpuMs / 1000).toFixed(1).padStart(8),
      (cpuMs / count).toFixed(0).padStart(8),
    );
  }
}

try {
  const install = await step("npm install", ["npm", "install", "--no-audit", "--no-fund"], 600_000);
  const test = install.exitCode === 0 ? await step("npm test", ["npm", "test"], 1_800_000) : undefined;
  console.log(`\nthe suite in a fresh clone — ${availableParallelism()} cores; load ${loadBefore} before, ${load()} after`);
  for (const { name, seconds, cpuSeconds, machineCpuSeconds: machine, exitCode } of [install, ...(test ? [test] : [])]) {
    const cpu = Number.isNaN(cpuSeconds) ? "" : `, CPU ${cpuSeconds.toFixed(0)} s in its process tree (${(cpuSeconds / seconds).toFixed(2)} cores)`;
    const whole = Number.isNaN(machine) ? "" : `; the machine ${machine.toFixed(0)} CPU-s (${(machine / seconds).toFixed(2)} cores busy)`;
    console.log(`${name.padEnd(12)} ${seconds.toFixed(1).padStart(7)} s${cpu}${whole}${exitCode === 0 ? "" : `  exited ${exitCode}`}`);
  }
  const total = install.seconds + (test?.seconds ?? 0);
  const passed = install.exitCode === 0 && test?.exitCode === 0;
  console.log(
    `npm install && npm test: ${total.toFixed(1)} s${passed ? "" : " (it failed: see above)"}; target ≤ ${TARGET_SECONDS} s idle: ` +
      `${passed && total <= TARGET_SECONDS ? "met" : "NOT met"}`,
  );
  if (values["by-process"]) printByKind(test?.cpuSeconds ?? Number.NaN);
  if (!passed) process.exitCode = 1;
} finally {
  if (values.keep) console.log(`the clone is kept: ${clone}`);
  else rmSync(parent, { recursive: true, force: true });
}
