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
// settings (a quiet minute, three restarts in a minute). The supervisor killed with kill -9 and started again; secrets
// in the errors it reads kept out of what it says, keeps and sends; current crash-looping until the supervisor gives up,
// each incident and the giving up reported.

const clone = orgClone("org-supervise-outages-", { withoutGeneratedTools: true });
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
    window: "60s",
    quietMinutes: 1,
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

  test("current killed four times: each incident reported at once, and the fourth, given up, says a person is needed", async () => {
    await until("current healthy", healthy, 90_000);
    const incidents = () => hooks.filter((text) => /^\[org supervise\] incident i[0-9a-f]{10}: current is down/.test(text));
    const before = incidents().length;
    for (let kill = 1; kill <= 3; kill += 1) {
      const pid = await currentPid();
      process.kill(pid, "SIGKILL");
      await until(`current back after kill ${kill}`, async () => (await currentPid()) !== pid && (await healthy()), 90_000);
    }
    process.kill(await currentPid(), "SIGKILL");
    await until("the fourth incident reported", () => incidents().length === before + 4, 60_000);
    const fourth = incidents().at(-1) ?? "";
    expect(fourth).toMatch(
      /3 restarts in 1m \(supervise\.maxRestarts 3\) did not keep it up and there is no promotion to roll back; stopped trying until \S+Z, when the oldest of those restarts leaves the 1m window — needs a person$/,
    );
    // Each incident is its own: the recoveries of the first three wait out their quiet minute, not the fourth's report.
    const restarts = query<{ detail: string }>(
      "SELECT detail FROM fix_events WHERE state = 'proposed' AND fix IN (SELECT id FROM fixes WHERE action = 'restart-current')",
    );
    expect(restarts.map((row) => row.detail.split(",")[0])).toEqual(
      expect.arrayContaining([expect.stringMatching(/^restart 1 since current was last healthy/)]),
    );
    // Once the oldest restart has left the window, it is tried again, and current comes back.
    await until("current restarted after the window", healthy, 120_000);
  }, 360_000);
});
