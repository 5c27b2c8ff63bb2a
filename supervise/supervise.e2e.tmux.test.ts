import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { probeHealth } from "../instances/health-probe.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { freePort } from "../testing/free-port.ts";
import { orgClone } from "../testing/org-clone.ts";
import { brokenServeCandidate, runOrg } from "../testing/promotion-fixture.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import {
  deadPid,
  proposeFixRule,
  stopSupervisedClone,
  superviseClone,
  supervisedClone,
  supervisedEnv,
  writeFailedGrowReport,
} from "../testing/supervise-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";
import { SIGNATURE_HEADER, signBody } from "./webhook.ts";

// org supervise through real processes: a throw-away clone of org whose current instance is a real `org serve` in a
// tmux window of the test's own tmux server, the supervisor beside it in its window (ops/supervise.sh), a scripted
// model server, and a webhook sink on loopback. Each part of the proof breaks the running org its own way and
// checks what the supervisor did (state.db), what it said (the sink) and what the files and refs are afterwards.

const clone = orgClone("org-supervise-e2e-", { withoutGeneratedTools: true, onlyTests: [] });
const session = uniqueSessionName("org-sv-e2e");
const hookSecret = `hook-${crypto.randomUUID()}`;
const apiToken = `tok-${crypto.randomUUID()}`;
const hooks: { signature: string | null; text: string; body: string }[] = [];
const modelScript = {
  models: ["scripted"],
  rules: [proposeFixRule("the render step keeps failing on a rejected token", "render step failed")],
  fallback: { text: "hello" },
};
let tmux: TmuxServer;
let model: ScriptedServer;
let modelPort = 0;
let sink: ReturnType<typeof Bun.serve>;
let currentPort = 0;

function env(): Record<string, string> {
  return supervisedEnv(tmux, { session, currentPort, ollamaBase: model.url }, { ORG_TEST_HOOK_SECRET: hookSecret, ORG_TEST_API_TOKEN: apiToken });
}

beforeAll(async () => {
  tmux = await TmuxServer.start();
  currentPort = freePort();
  model = await startScriptedServer({ script: modelScript });
  modelPort = model.port;
  sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body = await request.text();
      hooks.push({ signature: request.headers.get(SIGNATURE_HEADER), text: (JSON.parse(body) as { text: string }).text, body });
      return new Response("ok");
    },
  });
  const config = {
    supervise: {
      every: "1s",
      backoff: "1s",
      maxRestarts: 3,
      window: "30s",
      quietMinutes: 0,
      incidentRepeats: 3,
      webhook: `http://127.0.0.1:${sink.port}/hook`,
      webhookSecret: "ORG_TEST_HOOK_SECRET",
    },
    grow: { maxTools: 0 },
  };
  const { current, supervisor } = await superviseClone(clone.dir, config, env());
  expect(current.code).toBe(0);
  expect(supervisor.all).toContain(`started org supervise in window 'supervise' of tmux session '${session}'`);
}, 120_000);

afterAll(async () => {
  await stopSupervisedClone(clone.dir, env(), [() => tmux?.close(), () => model?.stop(), () => sink?.stop(true)]);
  clone[Symbol.dispose]();
});

const { query, until, currentPid, healthy } = supervisedClone({ dir: clone.dir, session, tmux: () => tmux, currentPort: () => currentPort });

type FixRow = { id: string; action: string; target: string; state: string; detail: string };
const fixes = (action: string) =>
  query<FixRow>("SELECT id, action, target, state, detail FROM fixes WHERE action = ? ORDER BY proposed_at, rowid", action);
const proposedDetail = (id: string) =>
  query<{ detail: string }>("SELECT detail FROM fix_events WHERE fix = ? AND state = 'proposed'", id)[0]?.detail ?? "";

describe("org supervise beside a served current, through real processes", () => {
  test("current killed with kill -9 three times is restarted each time, with the backoff in the record", async () => {
    await until(
      "the first round to find current healthy",
      () => query<{ state: string }>("SELECT state FROM checks WHERE name = 'current'")[0]?.state === "ok",
    );
    for (let kill = 1; kill <= 3; kill += 1) {
      const pid = await currentPid();
      process.kill(pid, "SIGKILL");
      await until(`current back after kill ${kill}`, async () => (await currentPid()) !== pid && (await healthy()));
      await until(`restart ${kill} verified`, () => fixes("restart-current").filter((fix) => fix.state === "verified").length === kill);
    }
    const restarts = fixes("restart-current");
    expect(restarts.map((fix) => fix.state)).toEqual(["verified", "verified", "verified"]);
    // Each kill came after current was healthy again: each restart is the first since then, and the window counts them.
    const sinceHealthy = "since current was last healthy \\([-\\d:.TZ]+\\)";
    expect(proposedDetail(restarts[0]?.id ?? "")).toMatch(
      new RegExp(`^restart 1 ${sinceHealthy}, at once; 1 of supervise.maxRestarts 3 within 30s$`),
    );
    expect(proposedDetail(restarts[1]?.id ?? "")).toMatch(
      new RegExp(`^restart 1 ${sinceHealthy}, \\d+s after the one before \\(backoff 1s\\); 2 of supervise.maxRestarts 3 within 30s$`),
    );
    expect(proposedDetail(restarts[2]?.id ?? "")).toMatch(
      new RegExp(`^restart 1 ${sinceHealthy}, \\d+s after the one before \\(backoff 2s\\); 3 of supervise.maxRestarts 3 within 30s$`),
    );
    expect(restarts[0]?.detail).toMatch(/^current: (re)?started; healthy at http:\/\/127\.0\.0\.1:\d+ \(commit [0-9a-f]{12} on main\)/);
  }, 180_000);

  test("a lock of a dead pid and a worktree of a dead run are cleared", async () => {
    const lock = join(clone.dir, ".org", "grow", "grow.lock");
    mkdirSync(join(clone.dir, ".org", "grow"), { recursive: true, mode: 0o700 });
    writeFileSync(lock, JSON.stringify({ pid: deadPid(), start: "1", since: "2026-11-23T09:00:00.000Z", command: "org grow (killed)" }), {
      mode: 0o600,
    });
    const worktree = join(clone.dir, ".org", "worktrees", `toolsmith-${deadPid()}-0badc0de`);
    gitSync(clone.dir, ["worktree", "add", "--quiet", "--detach", worktree, "main"]);
    await until(
      "the lock and the worktree to be gone",
      () => !existsSync(lock) && !existsSync(worktree) && !gitSync(clone.dir, ["worktree", "list"]).includes("toolsmith-"),
    );
    await until(
      "both fixes verified",
      () => fixes("clear-stale-lock").some((fix) => fix.state === "verified") && fixes("remove-leftovers").some((fix) => fix.state === "verified"),
    );
  }, 120_000);

  test("a corrupted memory database is restored from the last backup, the damaged file kept beside it", async () => {
    const memory = join(clone.dir, ".org", "memory", "memory.sqlite");
    await until("the daily backup, holding memory", () =>
      readdirSync(join(clone.dir, ".org", "backups")).some((name) => /^org-backup-.*\.tar\.gz$/.test(name)),
    );
    expect(existsSync(memory)).toBe(true);
    // Serve holds memory open in WAL mode, its pages in the log; a checkpoint (which serve makes by itself as the log
    // grows) moves them into the file, where the damage below is then what every reader sees.
    const checkpoint = new Database(memory);
    checkpoint.exec("PRAGMA busy_timeout = 5000");
    checkpoint.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
    checkpoint.close();
    const fd = openSync(memory, "r+");
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
    closeSync(fd);
    await until("memory restored", () => fixes("restore-memory").some((fix) => fix.state === "verified"));
    expect(fixes("restore-memory")[0]?.detail).toMatch(/restored .*memory\.sqlite from .*\/\.org\/backups\/org-backup-\d{8}T\d{6}Z\.tar\.gz/);
    expect(readdirSync(join(clone.dir, ".org", "memory")).some((name) => name.startsWith("memory.sqlite.damaged-"))).toBe(true);
    const database = new Database(memory, { readonly: true });
    expect(database.query("PRAGMA quick_check").get()).toEqual({ quick_check: "ok" });
    database.close();
  }, 120_000);

  test("the model server stopped: one report, grow paused; back: one recovery report, grow resumed", async () => {
    const paused = join(clone.dir, ".org", "grow", "paused.json");
    // The model server lives in this process: a git call of a test above that held its event loop on a loaded machine can
    // have been an outage of its own, opened and recovered before. What is said of this one is what follows the stop.
    await until(
      "no outage of the model server open",
      () => query<{ id: string }>("SELECT id FROM incidents WHERE pattern = 'model-server' AND state = 'open'").length === 0,
    );
    const from = hooks.length;
    const about = (text: string) => text.includes(`model server ${model.url} unreachable`);
    const since = () => hooks.slice(from).filter((hook) => about(hook.text));
    await model.stop();
    await until("grow paused and the outage reported", () => existsSync(paused) && since().length > 0);
    model = await startScriptedServer({ script: modelScript, port: modelPort });
    await until("grow resumed and the recovery reported", () => !existsSync(paused) && since().some((hook) => hook.text.includes("recovered")));
    const said = since().map((hook) => hook.text.split(":")[0]);
    expect(said).toEqual([expect.stringMatching(/^\[org supervise\] incident i/), expect.stringMatching(/^\[org supervise\] recovered i/)]);
    expect(since().find((hook) => hook.text.includes("recovered"))?.text).toContain("unattended grow runs resumed");
  }, 120_000);

  test("a repeated error no pattern knows is an incident, diagnosed by the model, and the webhook gets it redacted and signed", async () => {
    const base = Date.now();
    for (let index = 0; index < 3; index += 1)
      writeFailedGrowReport(clone.dir, new Date(base - (3 - index) * 1000), `render step failed: token ${apiToken} rejected by upstream`);
    await until("the novel incident's diagnosis reported", () => hooks.some((hook) => hook.text.includes("diagnosis of")));
    const novel = hooks.filter((hook) => hook.text.includes("render step failed"));
    expect(novel.length).toBeGreaterThan(0);
    for (const hook of hooks) {
      expect(hook.body).not.toContain(apiToken);
      expect(hook.signature).toBe(signBody(hook.body, hookSecret));
    }
    expect(novel[0]?.text).toContain("[REDACTED]");
    const proposal = query<FixRow & { by: string }>("SELECT id, action, target, state, detail, by FROM fixes").find((fix) =>
      fix.by.startsWith("model "),
    );
    expect(proposal).toMatchObject({ action: "remove-leftovers", target: "all", state: "proposed", by: "model scripted" });
  }, 120_000);

  test("serve --supervise runs the supervisor inside serve: its lines in serve's log, its state in serve's workspace", async () => {
    // Before the promotion below, which first waits out the restarts above: this runs meanwhile.
    const workspace = join(clone.dir, ".org", "serve-supervise-workspace");
    // Its own settings: a round every second, and the clone's checkout (serve's own) watched.
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(workspace, "org.config.json"), JSON.stringify({ supervise: { every: "1s" } }));
    const child = Bun.spawn([join(clone.dir, "bin", "org"), "serve", "--port", "0", "--supervise", "--workspace", workspace], {
      cwd: workspace,
      env: env(),
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    try {
      await until("a round of the supervisor in serve", () => existsSync(join(workspace, ".org", "supervisor", "reports")));
    } finally {
      child.kill("SIGTERM");
      await child.exited;
      clearTimeout(killer);
    }
    const log = await new Response(child.stderr).text();
    if (child.exitCode !== 0) console.log(log);
    expect(log).toContain(`supervise: org supervise runs in serve now and every 1s (--supervise), watching ${workspace}`);
    expect(log).toContain("stopped");
    expect(child.exitCode).toBe(0);
  }, 120_000);

  test("a promotion whose instance fails health is rolled back (journaled) and current comes back at the revert", async () => {
    // The window (30s) must first forget the restarts of the kills above.
    await until(
      "the earlier restarts to leave the window",
      () => (query<{ n: number }>("SELECT count(*) AS n FROM attempts WHERE at >= ?", Date.now() - 31_000)[0]?.n ?? 1) === 0,
      90_000,
    );
    const branch = "cand/20261123T101500Z";
    brokenServeCandidate(clone.dir, branch);
    const promoted = await runOrg(["promote", branch, "--repo", clone.dir, "--no-restart"], env());
    expect(promoted.out).toContain("tagged promote/");
    const promotion = gitSync(clone.dir, ["for-each-ref", "--format=%(refname:strip=2)", "refs/tags/promote/"]).trim().split("\n").at(-1) ?? "";
    process.kill(await currentPid(), "SIGKILL");
    await until("the promotion rolled back, verified", () => fixes("rollback-promotion").some((fix) => fix.state === "verified"), 150_000);
    expect(gitSync(clone.dir, ["tag", "--list", "rollback/*"]).trim()).not.toBe("");
    const main = gitSync(clone.dir, ["rev-parse", "main"]).trim();
    expect(gitSync(clone.dir, ["log", "-1", "--format=%B", main])).toContain(`Rolls-Back: ${promotion}`);
    const health = await probeHealth(currentPort);
    expect(health.kind === "org" && health.health.commit).toBe(main);
    const restarts = fixes("restart-current").slice(3);
    expect(restarts.length).toBeGreaterThanOrEqual(3);
    expect(restarts.slice(0, 3).map((fix) => fix.state)).toEqual(["failed", "failed", "failed"]);
    const rollback = fixes("rollback-promotion");
    expect(rollback).toHaveLength(1);
    expect(rollback[0]).toMatchObject({ target: promotion, state: "verified" });
    await until("the rollback reported", () => hooks.some((hook) => hook.text.includes("rollback-promotion") && hook.text.includes(promotion)));
  }, 240_000);

  test("org supervise status shows it all; ops/stop.sh supervise stops it", async () => {
    const status = await runOrg(["supervise", "status", "--json", "--workspace", clone.dir, "--repo", clone.dir], env());
    const found = JSON.parse(status.out.trim().split("\n").at(-1) ?? "{}") as {
      supervisor: { pid: number } | null;
      checks: { name: string; state: string }[];
      fixes: unknown[];
      lastBackup: unknown;
    };
    expect(found.supervisor?.pid).toBeGreaterThan(0);
    expect(found.checks.find((check) => check.name === "current")?.state).toBe("ok");
    expect(found.fixes.length).toBeGreaterThan(5);
    expect(found.lastBackup).not.toBeNull();
    const stopped = await runOpsScript(clone.dir, "stop.sh", ["supervise"], { cwd: clone.dir, env: env() });
    expect(stopped.stdout).toContain("stopped org supervise");
    expect(existsSync(join(clone.dir, ".org", "supervisor", "supervise.lock"))).toBe(false);
  }, 60_000);
});
