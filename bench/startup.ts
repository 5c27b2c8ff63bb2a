// org's start-up, whole process: `org --help`, `org --version` and `org tool list` against a bare `bun -e 0`, the
// four interleaved run by run so that a busy machine slows them alike; medians, p90 and the ratio to bare bun.
//   bun bench/startup.ts [--runs 20]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { orgCommand } from "../config/org-bun-command.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);

const variants: [string, string[]][] = [
  ["bun -e 0 (baseline)", [process.execPath, "-e", "0"]],
  ["org --version", orgCommand(["--version"])],
  ["org --help", orgCommand(["--help"])],
  ["org tool list", orgCommand(["tool", "list"])],
];

async function once(argv: string[]): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [, stderr, exitCode] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited]);
  const ms = performance.now() - started;
  if (exitCode !== 0) throw new Error(`${argv.slice(-2).join(" ")} exited ${exitCode}: ${stderr}`);
  return ms;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

for (const [, argv] of variants) await once(argv);
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let round = 0; round < runs; round += 1) {
  for (const [name, argv] of variants) {
    samples.get(name)?.push(await once(argv));
  }
}

console.log(`start-up, whole process — ${runs} runs each, interleaved; ${availableParallelism()} cores; bun ${Bun.version}`);
const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const baseline = median(samples.get(variants[0]?.[0] ?? "") ?? []);
for (const [name, ms] of samples) {
  const sorted = [...ms].sort((a, b) => a - b);
  const ratio = name === variants[0]?.[0] ? "" : `  ${(quantile(sorted, 0.5) / baseline).toFixed(1)}× bare bun`;
  console.log(`${name.padEnd(22)} median ${quantile(sorted, 0.5).toFixed(1).padStart(6)} ms  p90 ${quantile(sorted, 0.9).toFixed(1).padStart(6)} ms${ratio}`);
}
console.log("targets: org --help ≤ 40 ms, org tool list ≤ 80 ms (whole process)");
