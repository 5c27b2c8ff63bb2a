// The suite as a newcomer runs it: `npm install && npm test` in a fresh clone of this checkout's HEAD (in a temp
// dir; this repository's git state is only read), each step's wall time and the CPU of it and everything it
// waited for, with the core count and the load before and after. Minutes long: it runs the whole suite once.
//   bun bench/suite.ts [--keep]
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gitSync } from "../testing/temp-git-repo.ts";

const TARGET_SECONDS = 180;
const { values } = parseArgs({ options: { keep: { type: "boolean", default: false } } });

const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(" ");
const parent = mkdtempSync(join(tmpdir(), "org-bench-suite-"));
const clone = join(parent, "org");
const loadBefore = load();
gitSync(tmpdir(), ["clone", "--quiet", "--no-local", join(import.meta.dir, ".."), clone]);

type Step = { name: string; seconds: number; cpuSeconds: number; exitCode: number };

/** Runs one step in the clone, its output passed through, within `limitMs`; its wall time and CPU. */
async function step(name: string, argv: string[], limitMs: number): Promise<Step> {
  console.log(`— ${name} (${argv.join(" ")})`);
  const started = performance.now();
  // The clone's own test command starts its own run id and reaper; the bench's environment is passed as it is.
  const child = Bun.spawn(argv, { cwd: clone, stdin: "ignore", stdout: "inherit", stderr: "inherit", env: process.env });
  const timer = setTimeout(() => child.kill("SIGTERM"), limitMs);
  const exitCode = await child.exited;
  clearTimeout(timer);
  const usage = child.resourceUsage();
  const cpuSeconds = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : Number.NaN;
  return { name, seconds: (performance.now() - started) / 1000, cpuSeconds, exitCode };
}

try {
  const install = await step("npm install", ["npm", "install", "--no-audit", "--no-fund"], 600_000);
  const test = install.exitCode === 0 ? await step("npm test", ["npm", "test"], 1_800_000) : undefined;
  console.log(`\nthe suite in a fresh clone — ${availableParallelism()} cores; load ${loadBefore} before, ${load()} after`);
  for (const { name, seconds, cpuSeconds, exitCode } of [install, ...(test ? [test] : [])]) {
    const cpu = Number.isNaN(cpuSeconds) ? "" : `, CPU ${cpuSeconds.toFixed(0)} s (${(cpuSeconds / seconds).toFixed(2)} cores busy)`;
    console.log(`${name.padEnd(12)} ${seconds.toFixed(1).padStart(7)} s${cpu}${exitCode === 0 ? "" : `  exited ${exitCode}`}`);
  }
  const total = install.seconds + (test?.seconds ?? 0);
  const passed = install.exitCode === 0 && test?.exitCode === 0;
  console.log(
    `npm install && npm test: ${total.toFixed(1)} s${passed ? "" : " (it failed: see above)"}; target ≤ ${TARGET_SECONDS} s idle: ` +
      `${passed && total <= TARGET_SECONDS ? "met" : "NOT met"}`,
  );
  if (!passed) process.exitCode = 1;
} finally {
  if (values.keep) console.log(`the clone is kept: ${clone}`);
  else rmSync(parent, { recursive: true, force: true });
}
