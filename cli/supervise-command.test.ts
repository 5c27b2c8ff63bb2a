import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confirmConfig } from "../config/config-trust.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { readScheduleStates, updateScheduleStates } from "../supervise/schedule-state.ts";
import { writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { deadPid } from "../testing/supervise-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { uniqueSessionName } from "../testing/tmux.ts";

// org supervise as a person types it, against a throw-away repository (never this checkout, which --repo defaults to).
const repo = tempGitRepo("org-supervise-cli-");
// A TMPDIR of its own: the leftovers check reads $TMPDIR, where the rest of a suite's runs leave their own.
const temp = mkdtempSync(join(tmpdir(), "org-supervise-cli-tmp-"));
chmodSync(temp, 0o755);
afterAll(() => {
  repo[Symbol.dispose]();
  rmSync(temp, { recursive: true, force: true });
});
const env = {
  OLLAMA_BASE: "http://127.0.0.1:9",
  ORG_TMUX_SESSION: uniqueSessionName("org-sv-cli"),
  ORG_EMBED_MODEL: "off",
  TMPDIR: temp,
};
// The disk check judges the free space of the folder the repository is in, the suite's temp folder, which the suite
// around it fills: the 1 GiB it wants by default is the machine's, not this test's ("free-disk failed" where it had less).
writeConfirmedConfig(repo.dir, { supervise: { minFreeMiB: 1 } });
const org = (...args: string[]) => runOrgProcess([...args], { cwd: repo.dir, env, timeoutMs: 120_000 });
const folders = ["--workspace", repo.dir, "--repo", repo.dir];

test("--once --json --idle-work: one round's summary, every check and idle work in it; a dead lock fixed; status --json agrees", async () => {
  mkdirSync(join(repo.dir, ".org", "grow"), { recursive: true, mode: 0o700 });
  writeFileSync(join(repo.dir, ".org", "grow", "grow.lock"), JSON.stringify({ pid: deadPid(), start: "", since: "then", command: "org grow" }), {
    mode: 0o600,
  });
  const round = await org("supervise", "--once", "--json", "--idle-work", ...folders);
  expect(round.exitCode).toBe(0);
  const summary = JSON.parse(round.stdout.trim()) as {
    checks: { name: string; state: string }[];
    fixes: { action: string; state: string }[];
    idle?: { ran: boolean; actions: unknown[] };
  };
  expect(summary.checks.map((check) => check.name)).toEqual([
    "current",
    "model-server",
    "disk",
    "locks",
    "leftovers",
    "sandbox",
    "databases",
    "mcp",
    "tool-health",
    "logs",
    "novel",
  ]);
  expect(summary.checks.find((check) => check.name === "model-server")?.state).toBe("fail");
  expect(summary.fixes.map((fix) => `${fix.action} ${fix.state}`).sort()).toEqual(["clear-stale-lock verified", "pause-grow verified"]);
  expect(existsSync(join(repo.dir, ".org", "grow", "grow.lock"))).toBe(false);
  expect(round.stderr).toContain("incident i");
  // --idle-work with nobody in the room: no tool to test, and no question while the model server is away.
  expect(summary.idle).toMatchObject({ ran: true, actions: [] });
  expect(round.stderr).toContain("idle work: what next? skipped: the model's server is unreachable");
  const status = await org("supervise", "status", "--json", ...folders);
  const found = JSON.parse(status.stdout.trim()) as {
    incidents: { pattern: string }[];
    growPaused: unknown;
    lastBackup: unknown;
    idleWork: { on: boolean; recent: { text: string }[] };
  };
  expect(found.incidents.map((incident) => incident.pattern)).toEqual(["model-server"]);
  expect(found.growPaused).not.toBeNull();
  expect(found.lastBackup).not.toBeNull();
  // The flag turned it on for that run only; the file does not.
  expect(found.idleWork.on).toBe(false);
  expect(found.idleWork.recent.map((event) => event.text)).toEqual([expect.stringContaining("what next? skipped")]);
}, 120_000);

test("mute, unmute, apply and release say what they did; wrong words are usage errors (exit 2), a fix that is not there exit 1", async () => {
  const muted = await org("supervise", "mute", "disk", "--for", "2h", "--workspace", repo.dir);
  expect(muted.exitCode).toBe(0);
  expect(muted.stdout).toMatch(/^muted disk for 2h, until \d{4}-/);
  expect((await org("supervise", "unmute", "disk", "--workspace", repo.dir)).stdout).toContain("unmuted disk");
  const nothing = await org("supervise", "mute", "no-such-thing", "--workspace", repo.dir);
  expect(nothing.exitCode).toBe(2);
  expect(nothing.stderr).toContain("nothing to mute named 'no-such-thing'");
  expect((await org("supervise", "mute", "disk", "--for", "soon", "--workspace", repo.dir)).exitCode).toBe(2);
  const missing = await org("supervise", "apply", "f0000000000", ...folders);
  expect(missing.exitCode).toBe(1);
  expect(missing.stderr).toContain('there is no fix "f0000000000"');
  expect((await org("supervise", "release", "nobody", ...folders)).stdout).toContain("nobody was not held");
  expect((await org("supervise", "bogus")).exitCode).toBe(2);
  expect((await org("supervise", "apply")).exitCode).toBe(2);
}, 120_000);

test("--config FILE: the commands a round starts read FILE too (a due schedule the workspace's file lacks; the backup's folder)", async () => {
  await using server = await startScriptedServer({ script: { rules: [{ reply: { text: "nothing new since {{lastMessage}}" } }] }, port: 0 });
  using workspace = tempGitRepo("org-supervise-config-");
  const elsewhere = join(temp, "elsewhere");
  const backups = join(elsewhere, "backups");
  mkdirSync(elsewhere);
  // The workspace's own file has no schedule and leaves backups in .org/backups/; the person's file, named with
  // --config (relative, as typed in another folder), has both.
  writeConfirmedConfig(workspace.dir, { supervise: { minFreeMiB: 1 } });
  const file = join(elsewhere, "mine.json");
  const schedule = { cron: "* * * * *", to: "agent", message: "the inbox" };
  writeFileSync(file, JSON.stringify({ supervise: { minFreeMiB: 1 }, schedules: { inbox: schedule }, backup: { dir: backups } }));
  const childEnv = { ...env, OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" };
  // Its schedule and backup folder confirmed for this workspace, as 'org config trust --config FILE' does.
  confirmConfig(file, childEnv, { workspaceDir: workspace.dir, checkoutDir: workspace.dir });
  // Seen two minutes ago: the minute since is owed now.
  updateScheduleStates(workspace.dir, (states) => {
    states.schedules.inbox = { seenAt: Date.now() - 120_000 };
  });

  const round = await runOrgProcess(
    ["supervise", "--once", "--json", "--workspace", workspace.dir, "--repo", workspace.dir, "--config", "mine.json"],
    { cwd: elsewhere, env: childEnv, timeoutMs: 120_000 },
  );
  expect(round.exitCode).toBe(0);
  expect(round.stderr).toMatch(/^schedule inbox \(\* \* \* \* \*\) ran for \S+: ok in session \S+: nothing new since the inbox$/m);
  // Recorded by the run itself (`org schedule run`), which found the schedule in the file it was given.
  expect(readScheduleStates(workspace.dir).schedules.inbox).toMatchObject({ ok: true, summary: "nothing new since the inbox" });
  expect(readdirSync(backups)).toHaveLength(1);
  expect(existsSync(join(workspace.dir, ".org", "backups"))).toBe(false);
}, 120_000);
