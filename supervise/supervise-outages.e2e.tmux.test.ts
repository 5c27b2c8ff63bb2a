import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { pidLockHolder } from "../security/pid-lock.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { freePort } from "../testing/free-port.ts";
import { orgClone } from "../testing/org-clone.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import {
  carriesSecret,
  databaseText,
  stopSupervisedClone,
  superviseClone,
  supervisedClone,
  supervisedEnv,
  writeFailedGrowReport,
} from "../testing/supervise-fixture.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";

// What an outside review broke in a running org, through real processes: a clone's current served in a tmux window,
// the supervisor beside it (ops/supervise.sh), a scripted model server and a webhook sink on loopback, the review's
// settings (three restarts in a window, a quiet time) with spans shorter than its minute. The supervisor killed with
// kill -9 and started again; secrets in the errors it reads kept out of what it says, keeps and sends; current
// crash-looping until the supervisor gives up, each incident and the giving up reported.

const clone = orgClone("org-supervise-outages-", { withoutGeneratedTools: true, onlyTests: [] });
const session = uniqueSessionName("org-sv-out");
const hookSecret = "hooksecret-abc123";
// The model server's password, in its URL: the supervisor's window gets OLLAMA_BASE, so it is of the room's secret set.
const serverPassword = "Sup3rS3cretPw-9f8e7d";
const secrets = [
  hookSecret,
  serverPassword,
  "AKIAIOSFODNN7EXAMPLE",
  "abcdefSECRETbearer123456",
  `ghp_${"Zx9Yw8Vu7".repeat(4)}`,
  `sk-proj-${"Qa1Ws2Ed3Rf4".repeat(3)}`,
];
const hooks: string[] = [];
let tmux: TmuxServer;
let model: ScriptedServer;
let sink: ReturnType<typeof Bun.serve>;
const currentPort = freePort();
const statePath = join(clone.dir, ".org", "supervisor", "state.db");

function env(): Record<string, string> {
  const ollamaBase = model.url.replace("http://", `http://supervisor:${serverPassword}@`);
  return supervisedEnv(tmux, { session, currentPort, ollamaBase }, { ORG_TEST_HOOK_SECRET: hookSecret });
}

beforeAll(async () => {
  tmux = await TmuxServer.start();
  model = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hello" } } });
  sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      hooks.push((JSON.parse(await request.text()) as { text: string }).text);
      return new Response("ok");
    },
  });
  const supervise = {
    every: "1s",
    backoff: "1s",
    maxRestarts: 3,
    // The window and the quiet time are what the give-up and the held recoveries wait out: as short as a busy machine's
    // three kill-and-restart rounds allow (a slower round only means another kill, below).
    window: "30s",
    quietMinutes: 0.25,
    incidentRepeats: 3,
    webhook: `http://127.0.0.1:${sink.port}/hook`,
    webhookSecret: "ORG_TEST_HOOK_SECRET",
  };
  const { current, supervisor } = await superviseClone(clone.dir, { supervise, grow: { maxTools: 0 } }, env());
  expect(current.code).toBe(0);
  expect(supervisor.stdout).toContain("started org supervise");
}, 120_000);

afterAll(async () => {
  await stopSupervisedClone(clone.dir, env(), [() => tmux?.close(), () => model?.stop(), () => sink?.stop(true)]);
  clone[Symbol.dispose]();
});

const { query, pane, until, currentPid, healthy } = supervisedClone({ dir: clone.dir, session, tmux: () => tmux, currentPort: () => currentPort });

const supervisorPid = () => pidLockHolder(join(clone.dir, ".org", "supervisor", "supervise.lock"))?.pid;
const lastRound = () => query<{ value: string }>("SELECT value FROM kv WHERE key = 'round:last'")[0]?.value ?? "";

// An incident of current as the webhook first hears of it; the outage and the supervisor's give-up as it words it.
const currentReport = /^\[org supervise\] incident (i[0-9a-f]{10}): current is down: current is down: /;
const giveUpReason = String.raw`3 restarts in 30s \(supervise\.maxRestarts 3\) did not keep it up and there is no promotion to roll back; stopped trying until (\S+Z), when the oldest of those restarts leaves the 30s window`;

/** Whether the webhook got `start` as one of its messages (or as a line of messages held and sent as one). */
const sent = (start: string) => hooks.some((text) => text.split("\n").some((line) => line.startsWith(start)));

/** What the supervisor said of `incident` (each notice is recorded as it is said, whether sent at once or held), with `part`. */
const noticeOf = (incident: string, part: string) =>
  query<{ at: number; text: string }>(
    "SELECT at, text FROM events WHERE kind = 'notice' AND instr(text, ?) > 0 AND instr(text, ?) > 0 ORDER BY at",
    incident,
    part,
  )[0];

/** The supervisor's last look at current found it healthy, and no incident of it is open. */
const currentSeenHealthy = () =>
  query<{ state: string }>("SELECT state FROM checks WHERE name = 'current'")[0]?.state === "ok" &&
  query<{ id: string }>("SELECT id FROM incidents WHERE pattern = 'current' AND state = 'open'").length === 0;

/**
 * Kills current's process, and returns the incident its outage was reported as: a new one (not folded into one of
 * `known`), whose report is the first message the webhook got of it, alone (sent at once, not held).
 */
async function killCurrent(kill: number, known: ReadonlySet<string>): Promise<string> {
  process.kill(await currentPid(), "SIGKILL");
  const report = () =>
    hooks.find((text) => {
      const id = currentReport.exec(text)?.[1];
      return id !== undefined && !known.has(id);
    }) ?? "";
  await until(`the outage of kill ${kill} reported as a new incident`, () => currentReport.test(report()), 90_000);
  const incident = currentReport.exec(report())?.[1] ?? "";
  expect(hooks.find((text) => text.includes(incident))).toBe(report());
  expect(report()).not.toContain("\n");
  return incident;
}

/**
 * Waits until the supervisor has seen current healthy again and closed `incident` (then until the test sees it healthy
 * too), or has given up on it. A kill before that would be the same outage to the supervisor: a restart that did not
 * keep current up.
 */
async function settled(kill: number, incident: string): Promise<"recovered" | "given up"> {
  let outcome: "recovered" | "given up" | undefined;
  const state = () => query<{ state: string }>("SELECT state FROM incidents WHERE id = ?", incident)[0]?.state;
  await until(
    `the incident of kill ${kill} (${incident}) closed or given up`,
    () => {
      outcome = noticeOf(incident, "needs a person") ? "given up" : state() === "resolved" ? "recovered" : undefined;
      return outcome !== undefined;
    },
    180_000,
  );
  if (outcome === "recovered") await until(`current back after kill ${kill}`, healthy, 90_000);
  return outcome ?? "recovered";
}

/**
 * The give-up of `incident` in its words — in its report when it opened given up, or a message of its own when a restart
 * failed by itself first — and sent (after the incident's quiet time at the latest); when it said it tries again.
 */
async function expectGiveUpSaid(incident: string | undefined): Promise<number> {
  const said = noticeOf(incident ?? "?", "needs a person")?.text ?? "";
  const form = new RegExp(
    `^\\[org supervise\\] (incident ${incident}: current is down: current is down: .*; ${giveUpReason} — needs a person|needs a person ${incident}: current is down: ${giveUpReason})$`,
  );
  expect(said).toMatch(form);
  await until(`the give-up of ${incident} sent`, () => sent(said), 150_000);
  const match = form.exec(said);
  return Date.parse(match?.[2] ?? match?.[3] ?? "");
}

describe("org supervise under the review's breakage, through real processes", () => {
  test("the supervisor killed with kill -9: ops/supervise.sh replaces its dead window and starts it again", async () => {
    await until("the first round", () => lastRound() !== "");
    const first = supervisorPid() ?? 0;
    expect(first).toBeGreaterThan(0);
    process.kill(first, "SIGKILL");
    await until("the window to show its end", async () => (await pane("supervise")).includes("org supervise exited with code 137"));
    const again = await runOpsScript(clone.dir, "supervise.sh", [], { cwd: clone.dir, env: env() });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("org supervise in window 'supervise' of tmux session");
    expect(again.stdout).toContain("is no longer running (org supervise exited with code 137");
    expect(again.stdout).toContain("started org supervise in window 'supervise'");
    const before = lastRound();
    await until("a round of the new supervisor", () => (supervisorPid() ?? first) !== first && lastRound() !== before);
    // Running now, a third call starts nothing.
    const third = await runOpsScript(clone.dir, "supervise.sh", [], { cwd: clone.dir, env: env() });
    expect(third.stdout).toContain(`org supervise is already running in window 'supervise' of tmux session '${session}'; nothing started.`);
  }, 120_000);

  test("secrets in the errors it reads reach none of its output, its state or the webhook", async () => {
    const now = Date.now();
    for (const ago of [3, 2, 1]) {
      writeFailedGrowReport(
        clone.dir,
        new Date(now - ago * 1000),
        `uploader crashed: hook ${hookSecret} aws ${secrets[2]} pw ${serverPassword} Authorization: Bearer ${secrets[3]} gh ${secrets[4]} key ${secrets[5]}`,
      );
    }
    await until("the repeated error reported", () => hooks.some((text) => text.includes("uploader crashed")));
    const said = [hooks.join("\n"), await pane("supervise"), databaseText(new Database(statePath, { readonly: true }))];
    for (const secret of secrets) for (const text of said) expect({ secret, leaked: carriesSecret(text, secret) }).toEqual({ secret, leaked: false });
  }, 90_000);

  test("current killed until the supervisor gives up: each kill its own incident, reported at once; the give-up says a person is needed; current restarted after the window", async () => {
    await until("current healthy, as the supervisor sees it too", async () => (await healthy()) && currentSeenHealthy(), 90_000);
    const known = new Set(query<{ id: string }>("SELECT id FROM incidents WHERE pattern = 'current'").map((row) => row.id));
    const recovered: string[] = [];
    let gaveUp: string | undefined;
    // Four kills when each restart keeps current up; fewer when a restart fails by itself (a busy machine), more when a
    // slow one lets the oldest restart leave the window first.
    for (let kill = 1; gaveUp === undefined; kill += 1) {
      expect(kill).toBeLessThanOrEqual(6);
      const incident = await killCurrent(kill, known);
      known.add(incident);
      if ((await settled(kill, incident)) === "given up") gaveUp = incident;
      else recovered.push(incident);
    }
    const retryAt = await expectGiveUpSaid(gaveUp);
    // Each incident is its own: every recovery reaches the webhook once its quiet time is over.
    for (const incident of recovered)
      await until(`the recovery of ${incident} sent`, () => sent(`[org supervise] recovered ${incident}: current is down: `), 150_000);
    const restarts = query<{ detail: string }>(
      "SELECT detail FROM fix_events WHERE state = 'proposed' AND fix IN (SELECT id FROM fixes WHERE action = 'restart-current')",
    );
    expect(restarts.map((row) => row.detail.split(",")[0])).toEqual(
      expect.arrayContaining([expect.stringMatching(/^restart 1 since current was last healthy/)]),
    );
    // Once the oldest restart has left the window, it is tried again, not before, and current comes back.
    await until(
      "current restarted after the window",
      async () => query<{ state: string }>("SELECT state FROM incidents WHERE id = ?", gaveUp)[0]?.state === "resolved" && (await healthy()),
      150_000,
    );
    const applied = query<{ at: number }>(
      "SELECT e.at FROM fix_events e JOIN fixes f ON f.id = e.fix WHERE f.incident = ? AND f.action = 'restart-current' AND e.state = 'applied' AND e.at > ?",
      gaveUp,
      noticeOf(gaveUp, "needs a person")?.at ?? 0,
    );
    expect(applied.length).toBeGreaterThan(0);
    for (const restart of applied) expect(restart.at).toBeGreaterThanOrEqual(retryAt);
    await until(`the recovery of ${gaveUp} sent`, () => sent(`[org supervise] recovered ${gaveUp}: current is down: `), 150_000);
  }, 900_000);
});
