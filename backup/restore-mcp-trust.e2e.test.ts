import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";

// The review's item 9 through the commands a person types: a checkout whose org.config.json names two MCP servers the
// user confirmed (one of them after editing the script it runs, not committed), org backup, rm -rf, org restore
// elsewhere. The server whose launch and files are as confirmed is confirmed in the restored folder (org doctor starts
// it); the other stays off, and restore says 'org mcp trust changed', after which org doctor passes.

const EVERYTHING = join(import.meta.dir, "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const scratch = mkdtempSync(join(tmpdir(), "org-restore-mcp-"));
chmodSync(scratch, 0o755);
const repo = tempGitRepo("org-restore-mcp-repo-");
let model: ScriptedServer;
let backupPath = "";

async function org(args: string[]) {
  const run = await runOrgProcess(args, { env: { OLLAMA_BASE: model.url, OLLAMA_MODEL: "scripted", ORG_EMBED_MODEL: "off" }, timeoutMs: 120_000 });
  return { code: run.exitCode, out: run.stdout, err: run.stderr };
}

type Doctor = { ok: boolean; checks: { name: string; status: string; detail: string; fix?: string }[] };
const failed = (doctor: Doctor) => doctor.checks.filter((check) => check.status === "fail").map((check) => check.name);

beforeAll(async () => {
  model = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } } });
  mkdirSync(join(repo.dir, "mcp"));
  for (const name of ["kept", "changed"])
    writeFileSync(join(repo.dir, "mcp", `${name}.sh`), `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(EVERYTHING)} stdio\n`);
  // kept runs from outside the workspace: one started from it can load every code file of it, changed.sh included.
  const server = (name: string) =>
    name === "kept" ? { command: process.execPath, args: [EVERYTHING, "stdio"] } : { command: "/bin/sh", args: [`mcp/${name}.sh`] };
  writeFileSync(
    join(repo.dir, "org.config.json"),
    `${JSON.stringify({ personas: [{ name: "agent", kind: "agent" }], mcpServers: { kept: server("kept"), changed: server("changed") } }, null, 2)}\n`,
  );
  gitSync(repo.dir, ["add", "mcp", "org.config.json"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "two MCP servers"]);
  // Confirmed as edited: the backup's checkout (main) holds the script as committed, which is not what was confirmed.
  appendFileSync(join(repo.dir, "mcp", "changed.sh"), "# edited after the commit\n");
  const trusted = await org(["mcp", "trust", "kept", "changed", "--workspace", repo.dir]);
  expect(trusted.code, trusted.err).toBe(0);
}, 120_000);

afterAll(async () => {
  await model?.stop();
  repo[Symbol.dispose]();
  rmSync(scratch, { recursive: true, force: true });
});

test("org restore confirms again the MCP servers whose launch and files are as confirmed; org doctor passes once the other is confirmed", async () => {
  const taken = await org(["backup", "--to", join(scratch, "backups"), "--json", "--workspace", repo.dir, "--repo", repo.dir]);
  expect(taken.code, taken.err).toBe(0);
  const { path } = JSON.parse(taken.out.trim()) as { path: string };
  backupPath = path;
  rmSync(repo.dir, { recursive: true, force: true });

  const to = join(scratch, "restored");
  const restored = await org(["restore", path, "--to", to]);
  expect(restored.code, restored.err).toBe(0);
  expect(restored.out).toContain("  MCP servers confirmed as in the backup (the same launch, the files they run unchanged): kept\n");
  expect(restored.out).toContain('  changed stays off: what it runs changed since you confirmed it: "mcp/changed.sh" (changed).');
  expect(restored.out).toContain("run 'org mcp trust changed'");

  const doctor = async () => JSON.parse((await org(["doctor", "--json", "--repo", to, "--workspace", to])).out.trim()) as Doctor;
  const before = await doctor();
  expect(before.checks.find((check) => check.name === "mcp server kept")).toMatchObject({ status: "ok" });
  expect(failed(before)).toEqual(["mcp server changed"]);

  expect((await org(["mcp", "trust", "changed", "--workspace", to])).code).toBe(0);
  const after = await doctor();
  expect(failed(after)).toEqual([]);
  expect(after.ok).toBe(true);
  expect(after.checks.find((check) => check.name === "mcp server changed")).toMatchObject({ status: "ok" });
}, 300_000);

test("org restore --json names the servers confirmed again and those left off, and says why on stderr", async () => {
  const restored = await org(["restore", backupPath, "--to", join(scratch, "restored-json"), "--json"]);
  expect(restored.code, restored.err).toBe(0);
  expect(JSON.parse(restored.out.trim()).mcp).toEqual({ rebound: ["kept"], untrusted: ["changed"] });
  expect(restored.err).toContain("run 'org mcp trust changed'");
}, 120_000);
