// Preloaded into every bun process of a measured suite run (`bench/suite.ts --by-process` puts it in BUN_OPTIONS): at
// exit it appends the process's argv and its own CPU to a file of its own under ORG_BENCH_ACCOUNT. A process killed
// by a signal it does not handle writes nothing; the bench counts what was written against the run's whole CPU.
import { appendFileSync } from "node:fs";
import { join } from "node:path";

const folder = process.env.ORG_BENCH_ACCOUNT;
if (folder) {
  const started = performance.now();
  process.on("exit", () => {
    const usage = process.resourceUsage();
    const line = JSON.stringify({
      pid: process.pid,
      ppid: process.ppid,
      argv: process.argv.slice(1),
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
