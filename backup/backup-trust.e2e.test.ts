// Issue 51 item 2 from outside, as real processes: a backup nobody of this user's took carries an MCP server's
// confirmation (made by the attacker's own org, whose key is not the user's; or written by hand from public data, as
// an older org's trust file with a made-up place in the manifest). It passes 'org backup verify', but 'org restore'
// says the server must be confirmed again and 'org doctor' does not start it: its script, which leaves a mark when it
// runs, never runs. Issue 52 item 5: the workspace's org.config.json comes back (committed or not), its write view
// waiting for 'org config trust' in the restored folder.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { BackupManifest, MANIFEST_ENTRY } from "./backup-manifest.ts";
import { readTar } from "./tar-reader.ts";
import { TarWriter } from "./tar-writer.ts";

const EVERYTHING = join(import.meta.dir, "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const scratch = mkdtempSync(join(tmpdir(), "org-forged-backup-"));
chmodSync(scratch, 0o755);
// The attacker's own org folder: their key, never the user's.
const attackerHome = mkdtempSync(join(tmpdir(), "org-attacker-home-"));
const repo = tempGitRepo("org-forged-backup-repo-");
const mark = join(scratch, "evil-ran");
let model: ScriptedServer;
let attackersBackup = "";

async function org(args: string[], env: Record<string, string> = {}) {
  const run = await runOrgProcess(args, {
    env: { OLLAMA_BASE: model.url, OLLAMA_MODEL: "scripted", ORG_EMBED_MODEL: "off", ...env },
    timeoutMs: 120_000,
  });
  return { code: run.exitCode, out: run.stdout, err: run.stderr };
}

type Doctor = { checks: { name: string; status: string; detail: string }[] };

beforeAll(async () => {
  model = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } } });
  mkdirSync(join(repo.dir, "mcp"));
  writeFileSync(
    join(repo.dir, "mcp", "evil.sh"),
    `echo ran >> ${JSON.stringify(mark)}\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(EVERYTHING)} stdio\n`,
  );
  writeFileSync(
    join(repo.dir, "org.config.json"),
    `${JSON.stringify({ sandbox: { workspace: "write" }, mcpServers: { evil: { command: "/bin/sh", args: ["mcp/evil.sh"] } } }, null, 2)}\n`,
  );
  gitSync(repo.dir, ["add", "mcp", "org.config.json"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "an MCP server"]);
  // The attacker confirms their own server with their own org and takes a backup of it.
  const asAttacker = { ORG_HOME: attackerHome };
  expect((await org(["mcp", "trust", "evil", "--workspace", repo.dir], asAttacker)).code).toBe(0);
  const taken = await org(["backup", "--to", join(scratch, "backups"), "--json", "--workspace", repo.dir, "--repo", repo.dir], asAttacker);
  expect(taken.code, taken.err).toBe(0);
  attackersBackup = (JSON.parse(taken.out.trim()) as { path: string }).path;
  rmSync(mark, { force: true });
}, 180_000);

afterAll(async () => {
  await model?.stop();
  repo[Symbol.dispose]();
  rmSync(scratch, { recursive: true, force: true });
  rmSync(attackerHome, { recursive: true, force: true });
});

/** Restores `backup` as the user, then runs org doctor there: what restore said, and the doctor's MCP check. */
async function restoreAndDoctor(backup: string, to: string) {
  expect((await org(["backup", "verify", backup])).code).toBe(0);
  const restored = await org(["restore", backup, "--to", to]);
  expect(restored.code, restored.err).toBe(0);
  const doctor = JSON.parse((await org(["doctor", "--json", "--repo", to, "--workspace", to])).out.trim()) as Doctor;
  return { restored: restored.out, check: doctor.checks.find((check) => check.name === "mcp server evil"), doctor };
}

test("a backup another user's org took verifies, but carries no trust: restore says confirm again, doctor does not start the server", async () => {
  const { restored, check, doctor } = await restoreAndDoctor(attackersBackup, join(scratch, "restored"));
  expect(restored).not.toContain("MCP servers confirmed as in the backup");
  expect(restored).toContain("evil stays off: its confirmation in the backup is not sealed by your org's key");
  expect(restored).toContain("run 'org mcp trust evil'");
  expect(check).toMatchObject({ status: "fail" });
  expect(check?.detail).toContain("not started");
  expect(existsSync(mark)).toBe(false);
  // Issue 52 item 5: the config came back, and its write view waits for the user here, as any repository's would.
  expect(restored).toContain("org.config.json: put back; like any repository's, its 1 setting(s)");
  expect(restored).toContain("sandbox.workspace (write)");
  expect(doctor.checks.find((entry) => entry.name === "config trust")).toMatchObject({ status: "warn" });
  expect(existsSync(join(scratch, "restored", ".org", "mcp-trust.json"))).toBe(false);
}, 300_000);

/** Rewrites a backup entry by entry (`edit` may change an entry's bytes or the manifest), its manifest's sizes and hashes made to match. */
async function repack(from: string, to: string, edit: (name: string, bytes: Buffer) => Buffer, manifestEdit: (manifest: BackupManifest) => void) {
  const entries: { name: string; bytes: Buffer }[] = [];
  let manifest: BackupManifest | undefined;
  for await (const entry of readTar(from)) {
    if (entry.type === "directory") continue;
    const parts: Buffer[] = [];
    for await (const chunk of entry.chunks()) parts.push(chunk);
    const bytes = Buffer.concat(parts);
    if (entry.name === MANIFEST_ENTRY) manifest = BackupManifest.parse(JSON.parse(bytes.toString("utf8")));
    else entries.push({ name: entry.name, bytes: edit(entry.name, bytes) });
  }
  if (!manifest) throw new Error("no manifest");
  manifest.entries = entries.map(({ name, bytes }) => ({ name, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") }));
  manifestEdit(manifest);
  const writer = new TarWriter(to);
  for (const { name, bytes } of entries) await writer.addBytes(name, bytes);
  await writer.addBytes(MANIFEST_ENTRY, `${JSON.stringify(manifest, null, 2)}\n`);
  await writer.finish();
}

test("a backup forged from public data (an older org's trust file, a made-up place in the manifest, a made-up seal) carries no trust", async () => {
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  const script = readFileSync(join(repo.dir, "mcp", "evil.sh"));
  for (const [variant, trustFile] of [
    [
      "legacy",
      {
        version: 1,
        servers: {
          evil: {
            fingerprint: sha("made up"),
            trustedAt: new Date().toISOString(),
            files: { [sha(join(repo.dir, "mcp", "evil.sh"))]: { digest: sha(script.toString()) } },
          },
        },
      },
    ],
    ["sealed", undefined],
  ] as const) {
    const forged = join(scratch, `forged-${variant}.tar.gz`);
    await repack(
      attackersBackup,
      forged,
      (name, bytes) => {
        if (!name.endsWith("/.org/mcp-trust.json")) return bytes;
        if (trustFile !== undefined) return Buffer.from(JSON.stringify(trustFile));
        // The carried records with a seal the forger computed under a key of their choosing.
        const carried = JSON.parse(bytes.toString("utf8")) as { records: Record<string, { seal: string }> };
        for (const record of Object.values(carried.records)) record.seal = sha(`${variant} guess`);
        return Buffer.from(JSON.stringify(carried));
      },
      (manifest) => {
        manifest.workspace.trustPlace = { workspace: join(scratch, `restored-${variant}`), stateFolder: "1:2:3" };
      },
    );
    const { restored, check } = await restoreAndDoctor(forged, join(scratch, `restored-${variant}`));
    expect(restored).not.toContain("MCP servers confirmed as in the backup");
    expect(restored).toContain(variant === "legacy" ? "confirm each server again with 'org mcp trust NAME'" : "run 'org mcp trust evil'");
    expect(check).toMatchObject({ status: "fail" });
    expect(existsSync(mark)).toBe(false);
  }
}, 300_000);

test("the workspace's own org.config.json (never committed) comes back with a restore; its write view waits for org config trust there", async () => {
  // Issue 52 item 5: a workspace apart from the checkout, its config confirmed by the user and in no commit.
  const workspace = join(scratch, "own-workspace");
  mkdirSync(workspace, { recursive: true });
  chmodSync(workspace, 0o755);
  writeFileSync(join(workspace, "org.config.json"), `${JSON.stringify({ sandbox: { workspace: "write" } })}\n`);
  expect((await org(["config", "trust", "--workspace", workspace])).code).toBe(0);
  const status = async (dir: string) =>
    JSON.parse((await org(["config", "status", "--json", "--workspace", dir])).out.trim()) as { settings: { setting: string; confirmed: boolean }[] };
  expect((await status(workspace)).settings).toEqual([expect.objectContaining({ setting: "sandbox.workspace", confirmed: true })]);
  const taken = await org(["backup", "--to", join(scratch, "own-backups"), "--json", "--workspace", workspace, "--repo", repo.dir]);
  expect(taken.code, taken.err).toBe(0);
  const to = join(scratch, "own-restored");
  const restored = await org(["restore", (JSON.parse(taken.out.trim()) as { path: string }).path, "--to", to, "--json"]);
  expect(restored.code, restored.err).toBe(0);
  expect(JSON.parse(restored.out.trim()).config).toEqual({ restored: true, waiting: ["sandbox.workspace"], excluded: false });
  const back = join(to, "workspace");
  expect(readFileSync(join(back, "org.config.json"), "utf8")).toBe(readFileSync(join(workspace, "org.config.json"), "utf8"));
  expect((await status(back)).settings).toEqual([expect.objectContaining({ setting: "sandbox.workspace", confirmed: false })]);
  expect((await org(["config", "trust", "--workspace", back])).code).toBe(0);
  expect((await status(back)).settings).toEqual([expect.objectContaining({ setting: "sandbox.workspace", confirmed: true })]);
}, 300_000);
