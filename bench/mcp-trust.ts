// What issue 51's item 1 costs a start: a confirmed server started from the workspace covers every code file of it, so
// each start (restarts too) looks at all of them. In a workspace of many code files (default 20 000, a tenth of them in
// node_modules), against a plain walk of the same tree (readdir of every folder, an lstat of every code file) and against
// a server whose launch names nothing in the workspace (the cost before): the check of an unchanged workspace (stats
// only), after one file changed (one hashed), and the first confirmation (all hashed). CPU time, median of the runs.
//   bun bench/mcp-trust.ts [--files 20000] [--runs 5]
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { recordTrust, trustProblem } from "../mcp-client/mcp-trust.ts";
import { isCodeFile } from "../mcp-client/workspace-code.ts";

const { values } = parseArgs({ options: { files: { type: "string", default: "20000" }, runs: { type: "string", default: "5" } } });
const fileCount = Number(values.files);
const runs = Number(values.runs);
const loadAtStart = loadavg();

const root = mkdtempSync(join(tmpdir(), "org-bench-mcp-trust-"));
process.on("exit", () => rmSync(root, { recursive: true, force: true }));
const workspace = join(root, "project");
const perFolder = 50;
const made = new Set<string>();
for (let index = 0; index < fileCount; index += 1) {
  // Code, with a README now and then, a tenth under node_modules.
  const top = index % 10 === 0 ? `node_modules/pkg${Math.floor(index / 500)}` : "src";
  const folder = join(workspace, top, `part${Math.floor(index / perFolder)}`);
  if (!made.has(folder)) mkdirSync(folder, { recursive: true });
  made.add(folder);
  writeFileSync(join(folder, index % 7 === 0 ? `notes${index}.md` : `file${index}.ts`), `export const value${index} = ${index};\n`);
}
mkdirSync(join(workspace, "srv"));
writeFileSync(join(workspace, "srv", "server.mjs"), 'import "../src/part0/file1.ts";\n');
const env = { PATH: "/usr/local/bin:/usr/bin:/bin" };
const stdio = (name: string, args: string[]): McpServerConfig => ({ name, transport: "stdio", command: "node", args, policy: "ask", tools: {} });
const fromWorkspace = stdio("app", ["srv/server.mjs"]);
const fromOutside = stdio("outside", ["/usr/lib/node_modules/some-server/index.js"]);

/** CPU milliseconds of `work`, user and system. */
function cpu(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** The floor: every folder read, every code file's lstat, nothing else. */
function plainWalk(): void {
  const pending = [workspace];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (isCodeFile(entry.name)) lstatSync(path, { bigint: true });
    }
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const rows: { name: string; ms: number[] }[] = [];
const measure = (name: string, once: () => void) => rows.push({ name, ms: Array.from({ length: runs }, () => cpu(once)) });

recordTrust(fromOutside, workspace, { env });
const first: number[] = [];
for (let run = 0; run < runs; run += 1) {
  rmSync(join(workspace, ".org"), { recursive: true, force: true });
  first.push(cpu(() => recordTrust(fromWorkspace, workspace, { env })));
}
recordTrust(fromOutside, workspace, { env });
measure("plain walk: readdir of every folder, lstat of every code file", plainWalk);
measure("a server from outside the workspace: check (the cost before)", () => trustProblem(fromOutside, workspace, env));
measure("a server from the workspace: check, nothing changed", () => trustProblem(fromWorkspace, workspace, env));
let edits = 0;
measure("a server from the workspace: check, one file changed", () => {
  writeFileSync(join(workspace, "src", "part0", "file1.ts"), `export const edited = ${edits++};\n`);
  if (trustProblem(fromWorkspace, workspace, env) === undefined) throw new Error("a changed file went unseen");
});
rows.push({ name: "a server from the workspace: first confirmation (all hashed)", ms: first });

const floor = median(rows[0]?.ms ?? []);
const loadAtEnd = loadavg();
console.log(
  `mcp trust: a workspace of ${fileCount} files, CPU time, median of ${runs} runs; ${availableParallelism()} ` +
    `cores, load average ${loadAtStart[0]?.toFixed(1)} at start, ${loadAtEnd[0]?.toFixed(1)} at end`,
);
for (const row of rows)
  console.log(
    `${row.name.padEnd(66)} ${median(row.ms).toFixed(0).padStart(6)} ms   ${(median(row.ms) / floor).toFixed(1).padStart(5)}× the plain walk`,
  );
