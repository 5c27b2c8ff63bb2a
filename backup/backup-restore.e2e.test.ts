import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { followPromotion } from "../fitness/fitness-baseline.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { orgClone } from "../testing/org-clone.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { makeCandidate, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { sealedTranscriptText } from "../testing/sealed-lines.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { computeChangeSet } from "../workspace/change-set.ts";
import { applyAndRecord } from "../workspace/change-journal.ts";

// The restore proof through the commands a person types: org backup, the clone and its workspace removed
// (rm -rf), org restore into a new folder; every ref, session, change record, proposal and the signed baseline back,
// org doctor passing, and the next org grow --dry-run reading on from where grow's cursor was.

const clone = orgClone("org-backup-e2e-", { withoutGeneratedTools: true, onlyTests: [] });
const scratch = mkdtempSync(join(tmpdir(), "org-backup-e2e-"));
chmodSync(scratch, 0o755);
const workspace = join(scratch, "workspace");
let model: ScriptedServer;
const session = "20261123-101500-abcdef";
/** Where the first test restored the backup, as the person who took it. */
let restoredTo = "";
/** A person's request as the room writes it, sealed as this person's org seals it, to be written at byte `from` of the transcript. */
const request = (workspaceDir: string, text: string, from = 0) =>
  sealedTranscriptText(
    join(workspaceDir, ".org", "sessions"),
    session,
    [JSON.stringify({ type: "turn-start", turnId: `t-${text.length}`, text, mode: "group", addressed: [], time: "2026-11-23T10:15:00.000Z" })],
    from,
  );

async function org(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const run = await runOrgProcess(args, {
    env: { OLLAMA_BASE: model.url, OLLAMA_MODEL: "scripted", ORG_EMBED_MODEL: "off", ...env },
    timeoutMs: 120_000,
  });
  return { code: run.exitCode, out: run.stdout, err: run.stderr };
}

/**
 * Every file under a folder's `.org/` with its SHA-256 (a transcript's without its seals), but what a backup leaves out
 * and what a restore makes anew.
 */
function stateOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const name = relative(join(dir, ".org"), path);
      if (entry.isDirectory() && !["backups", "worktrees", "registry", "scratch", "toolsmith"].includes(name)) walk(path);
      else if (entry.isFile() && !/(\.lock|-wal|-shm|\.sqlite|\.db)$/.test(name) && name !== ".gitignore" && name !== "grow/proposals.json")
        // A transcript's seals name its workspace, so a restore elsewhere seals its lines again: the rest is as it was.
        files[name] = createHash("sha256")
          .update(name.startsWith("sessions/") ? readFileSync(path, "utf8").replace(/,"seal":"[0-9a-f]{32}"\}/g, "}") : readFileSync(path))
          .digest("hex");
    }
  };
  if (existsSync(join(dir, ".org"))) walk(join(dir, ".org"));
  return files;
}

function refs(dir: string): string {
  return gitSync(dir, ["for-each-ref", "--format=%(refname) %(objectname)"]);
}

beforeAll(async () => {
  model = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } } });
  // The checkout: two candidates, one promoted and then rolled back, a signed baseline.
  const branch = "cand/20261123T101500Z";
  const commit = makeCandidate(clone.dir, branch, (worktree) => writeTool(worktree, "celsius", "v1"));
  makeCandidate(clone.dir, "cand/20261123T101600Z", (worktree) => writeTool(worktree, "dates", "v1"));
  writePassingReport(clone.dir, commit, branch);
  expect((await org(["promote", branch, "--repo", clone.dir, "--no-restart"])).code).toBe(0);
  expect((await org(["rollback", "--repo", clone.dir, "--no-restart"])).code).toBe(0);
  followPromotion(clone.dir, { tag: "promote/20261126T000000Z", merge: gitSync(clone.dir, ["rev-parse", "main"]).trim(), passes: { echo: 3 } });
  // The workspace: a session that asks for a tool, a change the agents applied, memory, and grow's proposal.
  mkdirSync(join(workspace, ".org", "sessions"), { recursive: true, mode: 0o700 });
  chmodSync(workspace, 0o755);
  writeFileSync(join(workspace, ".org", "sessions", `${session}.jsonl`), request(workspace, "we need a tool that converts celsius to fahrenheit"));
  const copy = join(scratch, "copy");
  mkdirSync(copy);
  writeFileSync(join(copy, "notes.txt"), "written by the agent\n");
  applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }), { persona: "agent" });
  MemoryStore.open(workspace).store.close();
  const grown = await org(["grow", "--once", "--max-tools", "0", "--json", "--workspace", workspace, "--repo", clone.dir]);
  expect(JSON.parse(grown.out.trim().split("\n").at(-1) ?? "{}").summary).toMatchObject({ noticed: 1, created: 1 });
}, 180_000);

afterAll(async () => {
  await model?.stop();
  clone[Symbol.dispose]();
  rmSync(scratch, { recursive: true, force: true });
});

test("org backup, rm -rf, org restore: every ref and file back, org doctor passes, org grow reads on from its cursor", async () => {
  const backups = join(scratch, "backups");
  const taken = await org(["backup", "--to", backups, "--json", "--workspace", workspace, "--repo", clone.dir]);
  expect(taken.code).toBe(0);
  const backup = JSON.parse(taken.out.trim()) as { path: string; refs: number; entries: number };
  expect(backup.refs).toBe(5);
  const verified = await org(["backup", "verify", backup.path]);
  expect(verified.code).toBe(0);
  expect(verified.out).toContain(`verified ${backup.path}`);
  const listed = await org(["backup", "list", "--dir", backups, "--workspace", workspace]);
  expect(listed.out).toContain(backup.path.split("/").at(-1) ?? "");

  const refsBefore = refs(clone.dir);
  const repoStateBefore = stateOf(clone.dir);
  const { "events.jsonl": _journal, ...workspaceStateBefore } = stateOf(workspace);
  const eventsBefore = readFileSync(join(workspace, ".org", "events.jsonl"), "utf8");
  const proposalsBefore = JSON.parse(readFileSync(join(workspace, ".org", "grow", "proposals.json"), "utf8"));
  expect(Object.keys(repoStateBefore)).toEqual(expect.arrayContaining(["fitness/baseline.json", "fitness/gate.key"]));
  expect(Object.keys(workspaceStateBefore).some((name) => name.startsWith("changes/"))).toBe(true);
  rmSync(clone.dir, { recursive: true, force: true });
  rmSync(workspace, { recursive: true, force: true });

  const to = join(scratch, "restored");
  restoredTo = to;
  const restored = await org(["restore", backup.path, "--to", to, "--json"]);
  expect(restored.code, restored.err).toBe(0);
  const outcome = JSON.parse(restored.out.trim()) as { checkout: string; workspace: string; refs: number; cursorMarks: number };
  expect(outcome).toMatchObject({ checkout: join(to, "checkout"), workspace: join(to, "workspace"), refs: 5, cursorMarks: 1 });
  expect(refs(outcome.checkout)).toBe(refsBefore);
  expect(stateOf(outcome.checkout)).toEqual(repoStateBefore);
  // The event journal is a log: what restore does after the backup's files are back is appended to the backed-up lines.
  const { "events.jsonl": _restoredJournal, ...workspaceStateAfter } = stateOf(outcome.workspace);
  expect(workspaceStateAfter).toEqual(workspaceStateBefore);
  expect(readFileSync(join(outcome.workspace, ".org", "events.jsonl"), "utf8").startsWith(eventsBefore)).toBe(true);
  const proposalsAfter = JSON.parse(readFileSync(join(outcome.workspace, ".org", "grow", "proposals.json"), "utf8"));
  expect(proposalsAfter.proposals).toEqual(proposalsBefore.proposals);
  expect(proposalsAfter.cursor.sessions[session].offset).toBe(proposalsBefore.cursor.sessions[session].offset);
  expect(existsSync(join(outcome.workspace, ".org", "memory", "memory.sqlite"))).toBe(true);

  const doctor = await org(["doctor", "--json", "--repo", outcome.checkout, "--workspace", outcome.workspace]);
  const checks = JSON.parse(doctor.out.trim()) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
  expect(checks.checks.filter((check) => check.status === "fail")).toEqual([]);
  expect(checks.ok).toBe(true);
  expect(checks.checks.find((check) => check.name === "checkout")?.status).toBe("ok");

  // The cursor reads on: nothing noticed twice; a new request is noticed.
  const again = await org(["grow", "--dry-run", "--json", "--workspace", outcome.workspace, "--repo", outcome.checkout]);
  expect(JSON.parse(again.out.trim().split("\n").at(-1) ?? "{}").summary).toMatchObject({ noticed: 0 });
  const transcript = join(outcome.workspace, ".org", "sessions", `${session}.jsonl`);
  appendFileSync(transcript, request(outcome.workspace, "is there a tool for parsing dates", statSync(transcript).size));
  const more = await org(["grow", "--dry-run", "--json", "--workspace", outcome.workspace, "--repo", outcome.checkout]);
  expect(JSON.parse(more.out.trim().split("\n").at(-1) ?? "{}").summary).toMatchObject({ noticed: 1 });
}, 240_000);

test("a restore into a folder that is not empty is refused with exit 1 and writes nothing", async () => {
  const backups = join(scratch, "backups");
  const [file] = readdirSync(backups).filter((name) => name.endsWith(".tar.gz"));
  const occupied = join(scratch, "occupied");
  mkdirSync(occupied);
  writeFileSync(join(occupied, "keep.txt"), "mine\n");
  const refused = await org(["restore", join(backups, file ?? ""), "--to", occupied]);
  expect(refused.code).toBe(1);
  expect(refused.err).toContain("is not empty");
  expect(readdirSync(occupied)).toEqual(["keep.txt"]);
  const usage = await org(["restore", join(backups, file ?? "")]);
  expect(usage.code).toBe(2);
}, 60_000);

test("a restored backup's transcripts are heard only by the person whose org took it: under another person's key, none is", async () => {
  const backups = join(scratch, "backups");
  const [file] = readdirSync(backups).filter((name) => name.endsWith(".tar.gz"));
  const otherHome = mkdtempSync(join(scratch, "other-home-"));
  chmodSync(otherHome, 0o700);
  /** What grow hears of a restored folder's transcripts, its own state set aside: every transcript read from its start. */
  const heard = async (to: string, env: Record<string, string>) => {
    const workspaceDir = join(to, "workspace");
    rmSync(join(workspaceDir, ".org", "grow", "proposals.json"));
    const run = await org(["grow", "--dry-run", "--json", "--workspace", workspaceDir, "--repo", join(to, "checkout")], env);
    const report = JSON.parse(run.out.trim().split("\n").at(-1) ?? "{}") as { summary: { noticed: number }; read?: { unheard?: unknown } };
    return { noticed: report.summary.noticed, unheard: report.read?.unheard };
  };
  // The same person: the first test's restore (its two requests, the backup's and the one written after) are heard.
  expect(restoredTo).not.toBe("");
  expect(await heard(restoredTo, {})).toEqual({ noticed: 2, unheard: undefined });
  const other = join(scratch, "restored-other");
  const restored = await org(["restore", join(backups, file ?? ""), "--to", other, "--json"], { ORG_HOME: otherHome });
  expect(restored.code, restored.err).toBe(0);
  expect(await heard(other, { ORG_HOME: otherHome })).toEqual({
    noticed: 0,
    unheard: { files: 1, lines: 1, named: [`.org/sessions/${session}.jsonl`] },
  });
}, 240_000);
