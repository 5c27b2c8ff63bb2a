import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgClone } from "../testing/org-clone.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { sealedTranscriptText } from "../testing/sealed-lines.ts";

// org grow without a hand on it: ops/grow.sh in a window of a tmux server of the test's own, and serve --grow-every,
// both in a throw-away clone of org (a git checkout, as grow needs) and a workspace whose session asks for a tool.
// Both build nothing ("grow": {"maxTools": 0}): the build, the gate and the promotion are proved in grow.e2e.test.ts;
// here each must run on its own, write its report, take one run at a time and stop cleanly.
const clone = orgClone("org-grow-unattended-", { withoutGeneratedTools: true });
const base = mkdtempSync(join(tmpdir(), "org-grow-unattended-ws-"));
// The sandbox's uid must pass through to a workspace when tests run as root.
chmodSync(base, 0o755);
const session = uniqueSessionName("org-grow");
let tmux: TmuxServer;

beforeAll(async () => {
  tmux = await TmuxServer.start();
});
afterAll(async () => {
  await runOpsScript(clone.dir, "stop.sh", ["grow"], { cwd: base, env: environment() }).catch(() => undefined);
  await tmux?.close().catch(() => undefined);
  clone[Symbol.dispose]();
  rmSync(base, { recursive: true, force: true });
});

function environment(): Record<string, string> {
  // No model server answers: grow must notice and report without one (it builds nothing here).
  return { ...tmux.env, ORG_TMUX_SESSION: session, OLLAMA_BASE: "http://127.0.0.1:9", ORG_EMBED_MODEL: "off", NO_COLOR: "1" };
}

/** A workspace with one session in which a user asked for a tool, and grow set to build nothing. */
function workspace(name: string): string {
  const dir = join(base, name);
  mkdirSync(join(dir, ".org", "sessions"), { recursive: true });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "org.config.json"), JSON.stringify({ grow: { maxTools: 0, every: "1h" } }));
  const time = new Date().toISOString();
  writeFileSync(
    join(dir, ".org", "sessions", "20261123-101500-abcdef.jsonl"),
    sealedTranscriptText(join(dir, ".org", "sessions"), "20261123-101500-abcdef", [
      JSON.stringify({
        type: "turn-start",
        turnId: "t1",
        text: "we need a tool that converts celsius to fahrenheit",
        mode: "group",
        addressed: [],
        time,
      }),
    ]),
  );
  return dir;
}

/** The workspace's reports that say their run is done. */
function doneReports(dir: string): { summary: { noticed: number; created: number } }[] {
  const grow = join(dir, ".org", "grow");
  if (!existsSync(grow)) return [];
  return readdirSync(grow)
    .filter((file) => /^\d{8}T\d{9}Z\.json$/.test(file))
    .map((file) => JSON.parse(readFileSync(join(grow, file), "utf8")))
    .filter((report) => report.state === "done");
}

test("ops/grow.sh runs org grow in its tmux window: a run at once, its report and proposal; a second start says where it runs; stop.sh grow stops it", async () => {
  const dir = workspace("tmux");
  const started = await runOpsScript(clone.dir, "grow.sh", [], { cwd: dir, env: environment() });
  expect(started.code).toBe(0);
  expect(started.stdout).toContain(`started org grow in window 'grow' of tmux session '${session}'`);
  await waitUntil("the first run's report", () => doneReports(dir).length === 1, 60_000);
  expect(doneReports(dir)[0]?.summary).toMatchObject({ noticed: 1, created: 1 });
  const state = JSON.parse(readFileSync(join(dir, ".org", "grow", "proposals.json"), "utf8"));
  expect(state.proposals.map((proposal: { goal: string; state: string }) => `${proposal.state} ${proposal.goal}`)).toEqual([
    "pending converts celsius to fahrenheit",
  ]);
  // It waits for the next run; a second start changes nothing.
  const again = await runOpsScript(clone.dir, "grow.sh", [], { cwd: dir, env: environment() });
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("org grow is already running in window 'grow'");
  const pane = await tmux.tmux("capture-pane", "-p", "-t", `=${session}:=grow`);
  expect(pane).toContain("noticed 1, merged 0, covered 0, built 0");
  expect(pane).toContain("next run in 1h");
  const stopped = await runOpsScript(clone.dir, "stop.sh", ["grow"], { cwd: dir, env: environment() });
  expect(stopped.stdout).toContain("stopped org grow");
  // Its window is gone (and with it the session, whose only window it was).
  const windows = await tmux.tmux("list-windows", "-t", `=${session}`, "-F", "#{window_name}").catch(() => "");
  expect(windows).not.toContain("grow");
  // Stopped between runs: no lock is left behind.
  expect(existsSync(join(dir, ".org", "grow", "grow.lock"))).toBe(false);
}, 120_000);

test("serve --grow-every runs org grow inside serve: the run's summary in serve's log, its report in the workspace", async () => {
  const dir = workspace("serve");
  const child = Bun.spawn([join(clone.dir, "bin", "org"), "serve", "--port", "0", "--grow-every", "1h"], {
    cwd: dir,
    env: environment(),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  try {
    await waitUntil("serve's first grow run", () => doneReports(dir).length === 1, 60_000);
    expect(doneReports(dir)[0]?.summary).toMatchObject({ noticed: 1, created: 1 });
  } finally {
    child.kill("SIGTERM");
    await child.exited;
    clearTimeout(killer);
  }
  const log = await new Response(child.stderr).text();
  expect(log).toContain("grow: org grow runs in serve now and every 1h (--grow-every)");
  expect(log).toMatch(/grow: noticed 1, merged 0, covered 0, built 0, judged 0, promoted 0, rolled back 0; budget spent: [\d.]+ s of 30m/);
  expect(log).toContain("grow: next run in 1h");
  expect(child.exitCode).toBe(0);
}, 120_000);
