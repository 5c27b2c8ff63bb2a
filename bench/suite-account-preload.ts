// Preloaded into every bun process of a measured suite run (`bench/suite.ts --by-process` puts it in BUN_OPTIONS): at
// exit it appends the process's argv and its own CPU to a file of its own under ORG_BENCH_ACCOUNT. A process killed
// by a signal it does not handle writes nothing; the bench counts what was written against the run's whole CPU. The pid
// and start time let a system-wide profile (perf with `-k monotonic`) be matched to the commands (docs/benchmarks.md).
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The process's start in seconds since boot, from /proc/self/stat (in clock ticks, 100 a second on Linux). */
function startedSinceBoot(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

const folder = process.env.ORG_BENCH_ACCOUNT;
if (folder) {
  const started = performance.now();
  process.on("exit", () => {
    const usage = process.resourceUsage();
    const line = JSON.stringify({
      pid: process.pid,
      ppid: process.ppid,
      argv: process.argv.slice(1),
      // When it started, in seconds since boot (the clock of `perf record -k monotonic`): a pid reused during the run
      // is told apart by it.
      startedAtS: startedSinceBoot(),
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      wallMs: performance.now() - started,
    });
    try {
      appendFileSync(join(folder, `${process.pid}.jsonl`), `${line}\n`);
    } catch {
      // The folder is gone (the bench ended first): this process is not counted.
    }
  });
}
