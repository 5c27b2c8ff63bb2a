import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { confirmConfig } from "../config/config-trust.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { growPause } from "../grow/grow-pause.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandbox } from "../testing/test-sandbox.ts";
import { webhookSink } from "../testing/supervise-fixture.ts";
import { uniqueSessionName } from "../testing/tmux.ts";
import { REPORTS_DIR } from "./daily-report.ts";
import { locksCheck } from "./locks-check.ts";
import { modelServerCheck } from "./model-server-check.ts";
import type { Check } from "./supervise-check.ts";
import { type SupervisorSetup, superviseEvery, WATCH_EVERY_MS } from "./supervisor.ts";
import { SUPERVISOR_DIR, SupervisorState } from "./supervisor-state.ts";

/** A supervisor of the repository `dir` (its own checkout), no model server, no tmux window, with `more`. */
function setupOf(dir: string, more: Pick<SupervisorSetup, "checks" | "signal"> & Partial<SupervisorSetup>): SupervisorSetup {
  return {
    workspaceDir: dir,
    repoDir: dir,
    sandbox: testSandbox,
    loadConfig: () => loadOrgConfig(join(dir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9" }, { workspaceDir: dir }),
    instance: { port: 9, tmuxSession: uniqueSessionName("org-sv-loop"), startTimeoutMs: 10_000 },
    say: () => {},
    ...more,
  };
}

test("superviseEvery: a round now and one after each wait of supervise.every, without an onRound too; one supervisor per workspace; its locks gone when it stops", async () => {
  using repo = tempGitRepo("org-supervisor-loop-");
  writeFileSync(join(repo.dir, "org.config.json"), JSON.stringify({ supervise: { every: "5m" } }));
  const controller = new AbortController();
  const waits: number[] = [];
  let second: Awaited<ReturnType<typeof runOrgProcess>> | undefined;
  await superviseEvery(setupOf(repo.dir, { checks: [locksCheck], signal: controller.signal }), {
    wait: async (ms) => {
      waits.push(ms);
      // A second supervisor of the same workspace, a process of its own, is refused while this one runs.
      second ??= await runOrgProcess(["supervise", "--workspace", repo.dir, "--repo", repo.dir], {
        env: { OLLAMA_BASE: "http://127.0.0.1:9" },
        timeoutMs: 60_000,
      });
      if (waits.length === 2) controller.abort();
    },
  });
  expect(waits).toEqual([300_000, 300_000]);
  expect(second?.exitCode).toBe(1);
  expect(second?.stderr).toContain(`another org supervise (pid ${process.pid}`);
  expect(existsSync(join(repo.dir, SUPERVISOR_DIR, "supervise.lock"))).toBe(false);
  expect(existsSync(join(repo.dir, SUPERVISOR_DIR, "round.lock"))).toBe(false);
  const state = SupervisorState.open(repo.dir);
  try {
    expect(state.checks().map((check) => check.name)).toEqual(["locks"]);
    expect(state.get("round:last")).toBeDefined();
  } finally {
    state.close();
  }
}, 90_000);

test("today's report is written when an incident opens and when it closes (within the heartbeat's ten minutes), and when the supervisor stops", async () => {
  using repo = tempGitRepo("org-supervisor-report-");
  writeFileSync(join(repo.dir, "org.config.json"), JSON.stringify({ supervise: { every: "1m" }, backup: { dir: join(repo.dir, "elsewhere") } }));
  const start = Date.parse("2026-11-25T12:00:00Z");
  let now = start;
  let round = 0;
  // What it finds: nothing, then a problem (an incident opens), then nothing again (it closes); each round says its number.
  const check: Check = {
    name: "disk",
    run: async () =>
      round === 2
        ? { state: "fail", detail: `round ${round}`, findings: [{ key: "disk", title: "the disk is full", detail: "0 MiB free" }] }
        : { state: "ok", detail: `round ${round}`, findings: [] },
  };
  const report = () => readFileSync(join(repo.dir, REPORTS_DIR, "2026-11-25.md"), "utf8");
  const seen: string[] = [];
  const controller = new AbortController();
  await superviseEvery(setupOf(repo.dir, { now: () => now, checks: [check], signal: controller.signal }), {
    onRound: () => {
      seen.push(report());
    },
    wait: async () => {
      // A minute between rounds: far within the heartbeat's ten.
      now += 60_000;
      round += 1;
      if (round === 5) controller.abort();
    },
  });
  const incident = /\*\*(i[0-9a-f]{10})\*\* the disk is full/.exec(seen[2] ?? "")?.[1];
  expect(seen[2]).toContain(`**${incident}** the disk is full (disk; opened 2026-11-25T12:02:00, open, seen 1×)`);
  expect(seen[3]).toContain(`**${incident}** the disk is full (disk; opened 2026-11-25T12:02:00, resolved 2026-11-25T12:03:00, seen 1×)`);
  // A round that changed nothing leaves the report as it was (the heartbeat writes it every ten minutes)...
  expect(seen[1]).toContain("| round 0 |");
  expect(seen[4]).toContain("| round 3 |");
  // ...and the last round's state is there because the supervisor wrote it as it stopped.
  expect(report()).toContain("| disk | ok |");
  expect(report()).toContain("| round 4 |");
}, 60_000);

test("an incident open for days is in each day's report, open, until the report of the day it closes", async () => {
  using repo = tempGitRepo("org-supervisor-days-");
  writeFileSync(join(repo.dir, "org.config.json"), JSON.stringify({ supervise: { every: "1h" }, backup: { dir: join(repo.dir, "elsewhere") } }));
  let now = Date.parse("2026-11-25T20:00:00Z");
  let full = true;
  const check: Check = {
    name: "disk",
    run: async () =>
      full
        ? { state: "fail", detail: "full", findings: [{ key: "disk", title: "the disk is full", detail: "0 MiB free" }] }
        : { state: "ok", detail: "fine", findings: [] },
  };
  const report = (day: string) => readFileSync(join(repo.dir, REPORTS_DIR, `${day}.md`), "utf8");
  const controller = new AbortController();
  let round = 0;
  await superviseEvery(setupOf(repo.dir, { now: () => now, checks: [check], signal: controller.signal }), {
    wait: async () => {
      // Six hours a round: day one, two and three.
      now += 6 * 3_600_000;
      round += 1;
      if (round === 8) full = false;
      if (round === 9) controller.abort();
    },
  });
  const incident = /\*\*(i[0-9a-f]{10})\*\* the disk is full/.exec(report("2026-11-25"))?.[1];
  expect(incident).toBeDefined();
  expect(report("2026-11-26")).toContain(`**${incident}** the disk is full (disk; opened 2026-11-25T20:00:00, open, seen`);
  expect(report("2026-11-27")).toContain(`**${incident}** the disk is full (disk; opened 2026-11-25T20:00:00, resolved 2026-11-27T20:00:00`);
}, 60_000);

test("a model server back between rounds: the recovery goes to the webhook at once, not a supervise.every later", async () => {
  using repo = tempGitRepo("org-supervisor-watch-");
  const sink = webhookSink();
  const script = { models: ["scripted"], rules: [], fallback: { text: "hi" } };
  let model = await startScriptedServer({ script });
  const port = model.port;
  const env = { OLLAMA_BASE: model.url, OLLAMA_MODEL: "scripted" };
  const configPath = join(repo.dir, "org.config.json");
  const backups = join(repo.dir, "elsewhere");
  writeFileSync(configPath, JSON.stringify({ supervise: { every: "1m", webhook: sink.url }, backup: { dir: backups } }));
  // The test is the person who wrote the webhook: confirmed as 'org config trust' does.
  confirmConfig(configPath, env, { workspaceDir: repo.dir });
  const now = Date.parse("2026-11-25T12:00:00Z");
  // Today's backup is there: the heartbeat takes none.
  mkdirSync(backups);
  writeFileSync(join(backups, "org-backup-20261125T115900Z.tar.gz"), "");
  const controller = new AbortController();
  const waits: number[] = [];
  const kinds = () => sink.received.map((message) => message.kind);
  try {
    await superviseEvery(
      setupOf(repo.dir, {
        now: () => now,
        checks: [modelServerCheck],
        signal: controller.signal,
        loadConfig: () => loadOrgConfig(configPath, env, { workspaceDir: repo.dir }),
      }),
      {
        wait: async (ms) => {
          waits.push(ms);
          if (waits.length === 1) await model.stop();
          // The outage was said in the round before this wait; the server comes back during it.
          else if (waits.length === 2) model = await startScriptedServer({ script, port });
          else controller.abort();
        },
      },
    );
  } finally {
    await model.stop();
    sink.stop();
  }
  // Up: a whole minute. Away: one watch of 5 s, after which the server answers and the round runs at once.
  expect(waits).toEqual([60_000, WATCH_EVERY_MS, 60_000]);
  expect(kinds()).toEqual(["opened", "recovered"]);
  expect(sink.received[1]?.text).toContain("unattended grow runs resumed");
  expect(growPause(repo.dir)).toBeUndefined();
}, 60_000);
