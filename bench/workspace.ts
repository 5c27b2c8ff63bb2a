// The workspace views' cost (issue 31, item 1): an sh call (`true`) in a workspace of many files (default 100 000)
// against the same call in a bare one (three files), through the sh tool, its sandbox and its view. The read view
// binds the workspace (no copy), its secret files covered (a walk of its folders, then of the changed ones); the write view runs on a private copy: a
// session's first call makes it (or takes
// the spare a closed session left), a later call brings it level by the paths that changed (a walk before and one
// after). Each row is a ratio against the bare workspace measured in the same run.
//   bun bench/workspace.ts [--files 100000] [--runs 5]
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import { sandboxPolicy, type WorkspaceView } from "../sandbox/sandbox-policy.ts";
import { runTool, toolSet } from "../tools/define-tool.ts";
import { sh } from "../tools/sh.ts";
import { WorkspaceCopies } from "../workspace/workspace-copies.ts";

const { values } = parseArgs({ options: { files: { type: "string", default: "100000" }, runs: { type: "string", default: "5" } } });
const fileCount = Number(values.files);
const runs = Number(values.runs);
const loadAtStart = loadavg();
// One sandbox and one set of session copies for the bench, as one org process has.
const sandbox = new Sandbox();
const workspaceCopies = new WorkspaceCopies();
await sandbox.ensureAvailable();

const root = mkdtempSync(join(tmpdir(), "org-bench-workspace-"));
// As root the sandbox runs as its own uid, which must be able to enter the workspaces.
chmodSync(root, 0o755);
process.on("exit", () => rmSync(root, { recursive: true, force: true }));

function workspace(name: string, files: number): string {
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const perFolder = 100;
  for (let index = 0; index < files; index += 1) {
    const folder = join(dir, `src${Math.floor(index / perFolder)}`);
    if (index % perFolder === 0) mkdirSync(folder);
    writeFileSync(join(folder, `file${index % perFolder}.ts`), `export const value${index} = ${index};\n`);
  }
  return dir;
}

const madeAt = performance.now();
const bare = workspace("bare", 3);
const big = workspace("big", fileCount);
const madeMs = performance.now() - madeAt;

const tools = toolSet([sh]);
let sessions = 0;

/** One timed `true` through sh: the view's mounts (and copy), the sandbox, the result. */
async function call(dir: string, view: WorkspaceView, sessionId: string): Promise<number> {
  const started = performance.now();
  const result = await runTool(
    tools,
    { name: "sh", arguments: { cmd: "true" } },
    {
      signal: AbortSignal.timeout(600_000),
      workspaceDir: dir,
      sessionId,
      sandbox,
      sandboxPolicy: sandboxPolicy({ workspace: view, poolSize: 0 }),
      workspaceCopies,
      workspaceWrite: async () => "not applied in the bench",
    },
  );
  const ms = performance.now() - started;
  if (!result.ok) throw new Error(`sh true failed in ${dir} (${view}): ${result.output}`);
  return ms;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

type Row = { name: string; bare: number[]; big: number[] };
const rows: Row[] = [];
async function measure(name: string, once: (dir: string) => Promise<number>, times = runs): Promise<void> {
  const row: Row = { name, bare: [], big: [] };
  for (let run = 0; run < times; run += 1) {
    // Interleaved, so the load the machine is under weighs on both alike.
    row.bare.push(await once(bare));
    row.big.push(await once(big));
  }
  rows.push(row);
  process.stderr.write(`  ${name}: done\n`);
}

process.stderr.write(`made a workspace of ${fileCount} files in ${(madeMs / 1000).toFixed(1)} s; measuring…\n`);

// The read view walks the workspace's folders once for secret files (sandbox.secretPaths) to cover them; a later call
// reads again only the folders whose ctime changed, one lstat per folder.
await measure("read view: the workspace's first call (finds its secret files)", (dir) => call(dir, "read", `read-${sessions++}`), 1);
await measure("read view: a later call", (dir) => call(dir, "read", `read-${sessions++}`));

// The write view: the very first call copies the whole workspace, once; a later session takes the spare.
const firstSession = new Map<string, string>();
await measure(
  "write view: the workspace's first call (copies it)",
  async (dir) => {
    const session = `first-${sessions++}`;
    firstSession.set(dir, session);
    return call(dir, "write", session);
  },
  1,
);
await measure("write view: a later call of the session", (dir) => call(dir, "write", firstSession.get(dir) ?? "none"));
await measure("write view: a later call after the user edited a file", async (dir) => {
  writeFileSync(join(dir, "src0", "file0.ts"), `export const edited = ${performance.now()};\n`);
  return call(dir, "write", firstSession.get(dir) ?? "none");
});
await measure("write view: the next session's first call (takes the spare)", async (dir) => {
  workspaceCopies.release(dir, firstSession.get(dir));
  const session = `next-${sessions++}`;
  firstSession.set(dir, session);
  return call(dir, "write", session);
});

const loadAtEnd = loadavg();
console.log(
  `workspace views: an sh call in ${fileCount} files against 3, median of ${runs} interleaved runs (the first ` +
    `copy: 1); ${availableParallelism()} cores, load average ${loadAtStart[0]?.toFixed(1)} at start, ${loadAtEnd[0]?.toFixed(1)} at end`,
);
for (const row of rows) {
  const bareMs = median(row.bare);
  const bigMs = median(row.big);
  console.log(
    `${row.name.padEnd(62)} bare ${bareMs.toFixed(0).padStart(6)} ms   big ${bigMs.toFixed(0).padStart(7)} ms ` +
      `  ${(bigMs / bareMs).toFixed(1).padStart(7)}×`,
  );
}
