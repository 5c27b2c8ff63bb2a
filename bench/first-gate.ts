// The first gate of a code version: its tests stage traces every test file a tool can reach, once, to record which
// read tools/generated/ (fitness/README.md, "Which reachable tests run"). On a throw-away clone of org with the whole
// suite, each run alternates: the trace as `tool new --promote` now runs it (traceReachableTests, with no record),
// and the baseline of the same run, the same files run untraced as a gate without strace deals them. Prints each run's
// wall time and the CPU of the processes it waited for, the median ratio, the core count and the load.
//   bun bench/first-gate.ts [--runs N]
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { READERS_DIR } from "../fitness/folder-readers.ts";
import { runReachableTests } from "../fitness/reachable-tests-stage.ts";
import { traceReachableTests } from "../fitness/trace-reachable-tests.ts";
import { RepoGit } from "../git/repo-git.ts";
import { orgClone } from "../testing/org-clone.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "2" } } });
const runs = Math.max(1, Number(values.runs));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** CPU seconds of the children this process has waited for (/proc/self/stat cutime + cstime, in clock ticks of 1/100 s). */
function childrenCpu(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

async function timed(what: () => Promise<string>): Promise<{ ms: number; cpu: number; said: string }> {
  const cpu = childrenCpu();
  const started = performance.now();
  const said = await what();
  return { ms: performance.now() - started, cpu: childrenCpu() - cpu, said };
}

console.log(
  `bench/first-gate: ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)}, bun ` +
    `${Bun.version}, ${runs} run(s) each way, interleaved`,
);
const clone = orgClone("org-bench-first-gate-", { withoutGeneratedTools: true });
try {
  const git = new RepoGit(clone.dir);
  const main = (await git.resolveCommit("refs/heads/main")) ?? "";
  const ratios: number[] = [];
  for (let run = 1; run <= runs; run += 1) {
    const untraced = await timed(async () => {
      const check = await runReachableTests(clone.dir, process.execPath, 900_000);
      if (!check.ok) throw new Error(`the untraced run failed: ${check.reason}`);
      return `${[check.figures?.ran ?? []].flat().length} files, ${check.figures?.passed} tests passed`;
    });
    console.log(
      `${run}. untraced ${seconds(untraced.ms).padStart(8)}  cpu ${untraced.cpu.toFixed(1)} s  (${untraced.said}; load ${loadavg()[0]?.toFixed(1)})`,
    );
    rmSync(join(clone.dir, READERS_DIR), { recursive: true, force: true });
    const traced = await timed(
      async () =>
        (await traceReachableTests({ git, commit: main }, { bun: process.execPath, timeoutMs: 900_000, signal: new AbortController().signal })).said,
    );
    console.log(
      `${run}. traced   ${seconds(traced.ms).padStart(8)}  cpu ${traced.cpu.toFixed(1)} s  (${traced.said}; load ${loadavg()[0]?.toFixed(1)})`,
    );
    // Which files read the folder, as the record the trace wrote says (the record's name is its key).
    const records = readdirSync(join(clone.dir, READERS_DIR)).filter((name) => name.endsWith(".json"));
    const readers = records.flatMap(
      (name) => (JSON.parse(readFileSync(join(clone.dir, READERS_DIR, name), "utf8")).readers as string[] | undefined) ?? [],
    );
    console.log(`   readers recorded: ${readers.length > 0 ? readers.join(", ") : "none"}`);
    ratios.push(traced.ms / untraced.ms);
  }
  ratios.sort((a, b) => a - b);
  console.log(
    `the first trace takes ${ratios[Math.floor(ratios.length / 2)]?.toFixed(2)}× the time of running the same files untraced (median of ${runs})`,
  );
} finally {
  clone[Symbol.dispose]();
}
