// `org sandbox run -- /bin/true`, whole process, in an empty folder, in a project of 13 000 entries (a clone of this
// checkout with as many of its node_modules packages as fit) and in the clone with all its node_modules, against a bare
// `bun -e 0` and against bwrap alone with the empty folder's arguments (the floor: bare bun plus bare bwrap), all
// interleaved run by run so that a busy machine slows them alike; medians, p90, CPU (the process and what it waited
// for), each project's entries and folders, the core count and load, and whether each target is met. The empty folder's
// call runs from the sandbox's prebuilt bundle when one matches the code (`npm run build`), and again from source.
// Each project's first call (no walk kept in its `.org/` yet: every folder read for secret files) is shown apart.
// Every call goes through `bin/org`, the launcher a user's `org` is (its shell and what it sets for bun included); the
// empty folder's call is run once more as `bun main.ts` with org's flags (`orgCommand`), as rounds before the twelfth ran it.
//   bun bench/sandbox-run.ts [--runs 20]
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { closeSync, openSync } from "node:fs";
import { prebuiltBundle } from "../cli/build/prebuilt-bundle.ts";
import { orgCommand } from "../config/org-bun-command.ts";
import { bwrapCommand } from "../sandbox/bwrap-argv.ts";
import { resolveLimits } from "../sandbox/sandbox-limits.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { prepareSandboxSupport } from "../sandbox/sandbox-support.ts";
import { planFor } from "../sandbox/spawn-launcher.ts";
import { readOnlyViewMounts } from "../workspace/workspace-view.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { REMEMBERED_LISTINGS_FILE } from "../workspace/remembered-listings.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);
/** The project: 13 000 entries (files, folders and links, `.git` included). */
const TARGET_ENTRIES = 13_000;

const root = mkdtempSync(join(tmpdir(), "org-bench-sandbox-run-"));
process.on("exit", () => rmSync(root, { recursive: true, force: true }));
const empty = join(root, "empty");
mkdirSync(empty);
// The folder itself when node_modules is a link to it (a worktree's), so the projects hold its files.
const modules = realpathSync(join(CHECKOUT_DIR, "node_modules"));
const entriesIn = (dir: string) => readdirSync(dir, { recursive: true }).length;
const foldersIn = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isDirectory()).length + 1;

const clone = join(root, "clone");
gitSync(root, ["clone", "--quiet", "--no-hardlinks", CHECKOUT_DIR, clone]);
cpSync(modules, join(clone, "node_modules"), { recursive: true, verbatimSymlinks: true });
const sized = join(root, "sized");
gitSync(root, ["clone", "--quiet", "--no-hardlinks", CHECKOUT_DIR, sized]);
mkdirSync(join(sized, "node_modules"));
let sizedEntries = entriesIn(sized);
for (const name of readdirSync(modules).sort()) {
  const path = join(modules, name);
  const size = statSync(path).isDirectory() ? entriesIn(path) + 1 : 1;
  if (sizedEntries + size > TARGET_ENTRIES) continue;
  cpSync(path, join(sized, "node_modules", name), { recursive: true, verbatimSymlinks: true });
  sizedEntries += size;
}
const projects = [sized, clone].map((dir) => ({ dir, entries: entriesIn(dir), folders: foldersIn(dir) }));

const runArgs = (workspace: string) => ["sandbox", "run", "--workspace", workspace, "--", "/bin/true"];
const run = (workspace: string) => [join(CHECKOUT_DIR, "bin", "org"), ...runArgs(workspace)];
const direct = orgCommand(runArgs(empty));

// bwrap alone, run by this process's user, with the arguments org gives it for the empty folder (its mounts, seccomp
// at fd 3, scratch at fd 4, prlimit): no launcher before it (the uid drop, the lifeline, nice), no org after it.
const supportDir = prepareSandboxSupport();
const floorScratch = join(root, "floor-scratch");
mkdirSync(floorScratch, { mode: 0o755 });
const { notShown: _notShown, copy: _copy, ...emptyView } = readOnlyViewMounts("read", empty, { sandboxPolicy: DEFAULT_SANDBOX_POLICY });
const floorPlan = planFor(
  { ...emptyView, scratchDir: floorScratch },
  resolveLimits(undefined, DEFAULT_SANDBOX_POLICY.timeoutMs, DEFAULT_SANDBOX_POLICY.limits),
  false,
  supportDir,
);
const floorLine = bwrapCommand({ ...floorPlan, argv: ["/bin/true"] });
const bwrapAlone = floorLine.slice(floorLine.indexOf("bwrap"));

/** One whole process: its wall time and CPU (its own and its waited-for children's), in ms. */
async function once(argv: string[]): Promise<{ ms: number; cpuMs: number }> {
  const floor = argv === bwrapAlone;
  const source = argv === fromSource;
  const fds = floor ? [openSync(join(supportDir, "seccomp.bpf"), "r"), openSync(floorScratch, "r")] : [];
  const started = performance.now();
  const env = floor ? { env: { PATH: "/usr/bin:/bin" }, cwd: "/" } : source ? { env: { ...process.env, ORG_PREBUILT: "off" } } : {};
  const child = Bun.spawn(argv, { stdio: ["ignore", "pipe", "pipe", ...fds], ...env });
  for (const fd of fds) closeSync(fd);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const ms = performance.now() - started;
  if (exitCode !== 0 || (!floor && argv.includes("sandbox") && JSON.parse(stdout).exitCode !== 0))
    throw new Error(`${argv.join(" ")} failed (${exitCode}): ${stderr}`);
  return { ms, cpuMs: Number(child.resourceUsage()?.cpuTime.total ?? 0n) / 1000 };
}

// The empty folder's call again with ORG_PREBUILT=off: org's source files instead of the sandbox's prebuilt bundle.
const fromSource = run(empty);
const bundled = prebuiltBundle(CHECKOUT_DIR, "sandbox-main") !== undefined;

const loadBefore = loadavg()[0] ?? Number.NaN;
const firstCalls = [];
for (const project of projects) firstCalls.push((await once(run(project.dir))).ms);
const projectName = (project: (typeof projects)[number]) => `project, ${project.entries} entries`;
const variants: [string, string[]][] = [
  ["bun -e 0 (baseline)", [process.execPath, "-e", "0"]],
  ["bwrap alone (floor)", bwrapAlone],
  ["empty folder", run(empty)],
  ["  the same, source", fromSource],
  ["  the same, bun main.ts", direct],
  ...projects.map((project): [string, string[]] => [projectName(project), run(project.dir)]),
];
// The second call of each project keeps its walk (the first made `.org/` at its top, a change the walk saw).
for (const [, argv] of variants) await once(argv);
const samples = new Map<string, { ms: number; cpuMs: number }[]>(variants.map(([name]) => [name, []]));
for (let round = 0; round < runs; round += 1) for (const [name, argv] of variants) samples.get(name)?.push(await once(argv));

const quantile = (list: number[], q: number) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(q * list.length))] ?? Number.NaN;
const median = (name: string, field: "ms" | "cpuMs" = "ms") =>
  quantile(
    (samples.get(name) ?? []).map((sample) => sample[field]),
    0.5,
  );
console.log(
  `org sandbox run -- /bin/true, whole process — ${runs} runs each, interleaved; ${availableParallelism()} cores; ` +
    `bun ${Bun.version}; load ${loadBefore.toFixed(1)} → ${loadavg()[0]?.toFixed(1)}`,
);
// Whether the calls measured could take the walk kept whole (`workspace/secret-files.ts`), or walked the listings.
const walkKept = (dir: string) =>
  readFileSync(join(dir, ".org", REMEMBERED_LISTINGS_FILE), "utf8")
    .split("\n", 1)[0]
    ?.includes('"walk":{');
for (const project of projects) {
  const kept = walkKept(project.dir) ? "the secret scan's walk kept whole" : "NO walk kept: every call walked the listings";
  console.log(`${projectName(project)}: ${project.folders} folders (entries counted with .git, as the scan does not); ${kept}`);
}
const baseline = median(variants[0]?.[0] ?? "");
for (const [name, list] of samples) {
  const ms = list.map((sample) => sample.ms);
  const ratio = name === variants[0]?.[0] ? "" : `  ${(quantile(ms, 0.5) / baseline).toFixed(1)}× bare bun`;
  const overEmpty = name.startsWith("project") ? `, +${(median(name) - median("empty folder")).toFixed(1)} ms over the empty folder` : "";
  console.log(
    `${name.padEnd(28)} median ${quantile(ms, 0.5).toFixed(1).padStart(6)} ms  p90 ${quantile(ms, 0.9).toFixed(1).padStart(6)} ms` +
      `  CPU ${median(name, "cpuMs").toFixed(1).padStart(6)} ms${ratio}${overEmpty}`,
  );
}
for (const [index, project] of projects.entries())
  console.log(
    `${projectName(project)}, first call (every folder read for secret files, the walk kept in .org/): ${firstCalls[index]?.toFixed(1)} ms`,
  );
const verdict = (name: string, target: number) =>
  `${name} ≤ ${target} ms: ${median(name) <= target ? "met" : "NOT met"} (median ${median(name).toFixed(1)} ms)`;
const [sizedProject] = projects;
const floorMs = median(variants[0]?.[0] ?? "") + median("bwrap alone (floor)");
console.log(
  `the floor, bare bun + bwrap alone: ${floorMs.toFixed(1)} ms; org's empty-folder call ${(median("empty folder") - floorMs).toFixed(1)} ms above it`,
);
console.log(
  bundled
    ? `from the prebuilt bundle of cli/sandbox-main.ts: ${(median("empty folder") / median("  the same, source")).toFixed(2)}× ` +
        "the source's wall time"
    : "no prebuilt bundle matches this code (run npm run build): both empty-folder rows ran the source",
);
console.log(
  `through bin/org: ${(median("empty folder") / median("  the same, bun main.ts")).toFixed(2)}× the wall time and ` +
    `${(median("empty folder", "cpuMs") / median("  the same, bun main.ts", "cpuMs")).toFixed(2)}× the CPU of bun main.ts run directly`,
);
console.log(`targets: ${verdict("empty folder", 50)}; ${sizedProject ? verdict(projectName(sizedProject), 60) : ""}`);
