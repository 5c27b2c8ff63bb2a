// org's start-up, whole process: `org --help`, `org --version` and `org tool list` against a bare `bun -e 0`, the
// four interleaved run by run so that a busy machine slows them alike; medians, p90, the ratio to bare bun, the
// core count and load, and whether each target is met. `tool list` runs in this checkout (it lists what is there),
// and in a throw-away repo with one promoted tool and one candidate.
// Then a room's start and one slash command, from the prebuilt bundle against the source files.
//   bun bench/startup.ts [--runs 20]
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { prebuiltBundle } from "../cli/build/prebuilt-bundle.ts";
import { orgCommand } from "../config/org-bun-command.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { makeCandidate, promotionRepo, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);

using stocked = promotionRepo([WORD_COUNT]);
const workspace = mkdtempSync(join(tmpdir(), "org-bench-startup-"));
process.on("exit", () => rmSync(workspace, { recursive: true, force: true }));
makeCandidate(stocked.dir, "cand/20261123T101500Z", (worktree) => writeFixtureTool(worktree, CLAMP));

const variants: [string, string[]][] = [
  ["bun -e 0 (baseline)", [process.execPath, "-e", "0"]],
  ["org --version", orgCommand(["--version"])],
  ["org --help", orgCommand(["--help"])],
  ["org tool list", orgCommand(["tool", "list"])],
  // What listing costs once there is something to read: metadata validated with zod, candidates read with git.
  ["tool list, 1+1 tools", orgCommand(["tool", "list", "--repo", stocked.dir])],
  // A room's start (its config, personas, tools, transcript) and one slash command: from the prebuilt bundle of the
  // code (npm run build; from source when there is none or it is not this code) and from the source files.
  ["chat --once /history", ["env", "ORG_PREBUILT=on", ...orgCommand(["chat", "--once", "/history", "--workspace", workspace])]],
  ["  the same, source", ["env", "ORG_PREBUILT=off", ...orgCommand(["chat", "--once", "/history", "--workspace", workspace])]],
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

console.log(
  `start-up, whole process — ${runs} runs each, interleaved; ${availableParallelism()} cores; bun ${Bun.version}; load ${loadavg()[0]?.toFixed(1)}`,
);
const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const baseline = median(samples.get(variants[0]?.[0] ?? "") ?? []);
for (const [name, ms] of samples) {
  const sorted = [...ms].sort((a, b) => a - b);
  const ratio = name === variants[0]?.[0] ? "" : `  ${(quantile(sorted, 0.5) / baseline).toFixed(1)}× bare bun`;
  console.log(
    `${name.padEnd(22)} median ${quantile(sorted, 0.5).toFixed(1).padStart(6)} ms  p90 ${quantile(sorted, 0.9).toFixed(1).padStart(6)} ms${ratio}`,
  );
}
const verdict = (name: string, target: number) => {
  const value = median(samples.get(name) ?? []);
  return (
    `${name} ≤ ${target} ms: ${value <= target ? "met" : "NOT met"} (median ${value.toFixed(1)} ms, ` +
    `${(value / baseline).toFixed(1)}× bare bun's ${baseline.toFixed(1)} ms)`
  );
};
console.log(`targets (whole process): ${verdict("org --help", 15)}; ${verdict("org tool list", 80)}`);
const prebuilt = median(samples.get("chat --once /history") ?? []) / median(samples.get("  the same, source") ?? []);
console.log(
  `chat --once /history from the prebuilt bundle: ${prebuilt.toFixed(2)}× the source's wall time` +
    (prebuiltBundle(CHECKOUT_DIR) ? "" : " (no prebuilt bundle matches this code: run npm run build)"),
);
