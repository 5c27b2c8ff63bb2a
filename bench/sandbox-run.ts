// `org sandbox run -- /bin/true`, whole process, in an empty folder and in a project of some 13 000 files (a clone of
// this checkout with its node_modules), against a bare `bun -e 0`, the three interleaved run by run so that a busy
// machine slows them alike; medians, p90, the core count and load, and whether each target is met. The project's
// first call (no listing kept in its `.org/` yet: a walk of every folder for secret files) is shown apart.
//   bun bench/sandbox-run.ts [--runs 20]
import { cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { orgCommand } from "../config/org-bun-command.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { gitSync } from "../testing/temp-git-repo.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);

const root = mkdtempSync(join(tmpdir(), "org-bench-sandbox-run-"));
process.on("exit", () => rmSync(root, { recursive: true, force: true }));
const empty = join(root, "empty");
mkdirSync(empty);
const project = join(root, "project");
gitSync(root, ["clone", "--quiet", "--no-hardlinks", CHECKOUT_DIR, project]);
// The folder itself when node_modules is a link to it (a worktree's), so the project holds its files.
cpSync(realpathSync(join(CHECKOUT_DIR, "node_modules")), join(project, "node_modules"), { recursive: true, verbatimSymlinks: true });
const files = readdirSync(project, { recursive: true }).length;

const run = (workspace: string) => orgCommand(["sandbox", "run", "--workspace", workspace, "--", "/bin/true"]);

async function once(argv: string[]): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const ms = performance.now() - started;
  if (exitCode !== 0 || (argv.includes("sandbox") && JSON.parse(stdout).exitCode !== 0))
    throw new Error(`${argv.join(" ")} failed (${exitCode}): ${stderr}`);
  return ms;
}

const firstInProject = await once(run(project));
const variants: [string, string[]][] = [
  ["bun -e 0 (baseline)", [process.execPath, "-e", "0"]],
  ["empty folder", run(empty)],
  [`project, ${files} files`, run(project)],
];
for (const [, argv] of variants) await once(argv);
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let round = 0; round < runs; round += 1) for (const [name, argv] of variants) samples.get(name)?.push(await once(argv));

const quantile = (list: number[], q: number) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(q * list.length))] ?? Number.NaN;
console.log(
  `org sandbox run -- /bin/true, whole process — ${runs} runs each, interleaved; ${availableParallelism()} ` +
    `cores; bun ${Bun.version}; load ${loadavg()[0]?.toFixed(1)}`,
);
const baseline = quantile(samples.get(variants[0]?.[0] ?? "") ?? [], 0.5);
for (const [name, ms] of samples) {
  const ratio = name === variants[0]?.[0] ? "" : `  ${(quantile(ms, 0.5) / baseline).toFixed(1)}× bare bun`;
  console.log(`${name.padEnd(26)} median ${quantile(ms, 0.5).toFixed(1).padStart(6)} ms  p90 ${quantile(ms, 0.9).toFixed(1).padStart(6)} ms${ratio}`);
}
console.log(`the project's first call (its folders walked for secret files, the listings kept in .org/): ${firstInProject.toFixed(1)} ms`);
const verdict = (name: string, target: number) => {
  const value = quantile(samples.get(name) ?? [], 0.5);
  return `${name} ≤ ${target} ms: ${value <= target ? "met" : "NOT met"} (median ${value.toFixed(1)} ms)`;
};
console.log(`targets: ${verdict("empty folder", 50)}; ${verdict(`project, ${files} files`, 60)}`);
