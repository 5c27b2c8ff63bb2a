import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { confirmConfig } from "../config/config-trust.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { freePort } from "../testing/free-port.ts";
import { orgClone } from "../testing/org-clone.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { brokenServeCandidate } from "../testing/promotion-fixture.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import {
  carriesSecret,
  proposeFixRule,
  type SinkMessage,
  stopSupervisedClone,
  supervisedClone,
  supervisedEnv,
  webhookSink,
} from "../testing/supervise-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";
import { signBody } from "./webhook.ts";

// What the supervisor says, through real processes, with the default quiet hour: a clone's current served in tmux, a
// scripted model server, a webhook sink on loopback that keeps each message and its kind, and the supervisor run one
// round at a time (`org supervise --once`), so nothing here waits on a clock. A model server stopped and started again
// is one opening and one recovery; the same command failing in serve job after serve job is an incident with the
// redacted excerpt (the same failure in a person's own chat is not); a promotion whose current cannot start is rolled
// back and that is said; today's report follows each incident as it opens and closes.

const clone = orgClone("org-supervise-notices-", { withoutGeneratedTools: true, onlyTests: [] });
const session = uniqueSessionName("org-sv-say");
const hookSecret = `hook-${crypto.randomUUID()}`;
const token = `tok-${crypto.randomUUID()}`;
const failing = `echo connecting; echo 'error: upstream refused token ${token}' >&2; exit 7`;
const modelScript = {
  models: ["scripted"],
  rules: [
    {
      when: { persona: "agent", lastRole: "user" as const, lastMessage: "deploy now" },
      reply: { toolCalls: [{ name: "sh", arguments: { cmd: failing } }] },
    },
    proposeFixRule("every deploy is refused upstream", "upstream refused"),
  ],
  fallback: { text: "done" },
};
const sink = webhookSink();
let tmux: TmuxServer;
let model: ScriptedServer;
let modelPort = 0;
const currentPort = freePort();

function env(): Record<string, string> {
  return supervisedEnv(
    tmux,
    { session, currentPort, ollamaBase: `http://127.0.0.1:${modelPort}` },
    {
      ORG_TEST_HOOK_SECRET: hookSecret,
      ORG_TEST_API_TOKEN: token,
    },
  );
}

beforeAll(async () => {
  tmux = await TmuxServer.start();
  model = await startScriptedServer({ script: modelScript });
  modelPort = model.port;
  // The defaults but what the test needs: the quiet hour stays (quietMinutes 60).
  const config = {
    supervise: { backoff: "1s", maxRestarts: 3, incidentRepeats: 3, webhook: sink.url, webhookSecret: "ORG_TEST_HOOK_SECRET" },
    serve: { tools: { sh: "allow" } },
    grow: { maxTools: 0 },
  };
  writeFileSync(join(clone.dir, "org.config.json"), JSON.stringify(config, null, 2));
  // The webhook and sh's "allow" wait for 'org config trust': the test is the person who wrote them.
  confirmConfig(join(clone.dir, "org.config.json"), env(), { workspaceDir: clone.dir });
  gitSync(clone.dir, ["add", "org.config.json"]);
  gitSync(clone.dir, ["commit", "--quiet", "-m", "supervise settings for the test"]);
  const current = await runOpsScript(clone.dir, "start-current.sh", [], { cwd: clone.dir, env: env() });
  expect(current.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await stopSupervisedClone(clone.dir, env(), [() => tmux?.close(), () => model?.stop(), () => sink.stop()]);
  clone[Symbol.dispose]();
});

const { query, until, currentPid } = supervisedClone({ dir: clone.dir, session, tmux: () => tmux, currentPort: () => currentPort });

type Summary = { opened: { id: string; pattern: string; title: string }[]; resolved: { id: string }[]; fixes: { action: string; state: string }[] };

/** `org ARGS` in the clone, as a person there runs it. */
async function org(args: string[], timeoutMs = 120_000) {
  const ran = await runOrgProcess(args, { cwd: clone.dir, env: env(), timeoutMs });
  return { code: ran.exitCode, out: `${ran.stdout}${ran.stderr}`, stdout: ran.stdout };
}

/** One round of the supervisor, as a process of its own; its summary. */
async function round(): Promise<Summary> {
  const ran = await org(["supervise", "--once", "--json", "--workspace", clone.dir, "--repo", clone.dir], 240_000);
  expect({ code: ran.code, out: ran.code === 0 ? "" : ran.out }).toEqual({ code: 0, out: "" });
  const line = ran.stdout.split("\n").findLast((text) => text.startsWith("{")) ?? "{}";
  return JSON.parse(line) as Summary;
}

/** The audit log's calls that exited with `code`, every day of it. */
const auditedExits = (code: number) =>
  readdirSync(join(clone.dir, ".org", "audit"))
    .map((name) => readFileSync(join(clone.dir, ".org", "audit", name), "utf8"))
    .join("")
    .split("\n")
    .filter((line) => line.includes(`"exitCode":${code}`)).length;

/** What the sink heard of one incident: each message's kind, in order. */
const kindsOf = (incident: string) => sink.received.filter((message) => message.key === incident).map((message) => message.kind);
const textOf = (incident: string, kind: string) => sink.received.find((message) => message.key === incident && message.kind === kind)?.text ?? "";
/** Today's report (every one written, should the day turn during the test). */
const reports = () => {
  const dir = join(clone.dir, ".org", "supervisor", "reports");
  return readdirSync(dir)
    .map((name) => readFileSync(join(dir, name), "utf8"))
    .join("\n");
};

describe("org supervise says each incident's news once, with the quiet hour on, through real processes", () => {
  test("a model server stopped for a while and back: exactly one opening and one recovery; the report follows both", async () => {
    await round();
    await model.stop();
    const down = await round();
    const incident = down.opened.find((opened) => opened.pattern === "model-server")?.id ?? "";
    expect(incident).not.toBe("");
    expect(reports()).toMatch(new RegExp(`\\*\\*${incident}\\*\\* model server .* unreachable \\(model-server; opened \\S+, open, seen 1×\\)`));
    await round();
    model = await startScriptedServer({ script: modelScript, port: modelPort });
    const back = await round();
    expect(back.resolved.map((resolved) => resolved.id)).toContain(incident);
    expect(kindsOf(incident)).toEqual(["opened", "recovered"]);
    expect(textOf(incident, "recovered")).toContain("unattended grow runs resumed");
    expect(reports()).toMatch(
      new RegExp(`\\*\\*${incident}\\*\\* model server .* unreachable \\(model-server; opened \\S+, resolved \\S+, seen \\d+×\\)`),
    );
  }, 300_000);

  test("the same command failing in serve job after serve job is an incident with the redacted excerpt and a diagnosis; in a person's own chat it is not", async () => {
    // A person's own room: the same failing command three times, their own to see.
    for (let run = 0; run < 3; run += 1) await org(["chat", "--once", "deploy now", "--yes"]);
    expect(auditedExits(7)).toBe(3);
    expect((await round()).opened.filter((opened) => opened.pattern === "novel")).toEqual([]);
    // Three jobs through serve, nobody watching.
    const ids: string[] = [];
    for (let job = 0; job < 3; job += 1) {
      const response = await fetch(`http://127.0.0.1:${currentPort}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "deploy now" }),
      });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { id: string }).id);
    }
    const stateOf = async (id: string) => ((await (await fetch(`http://127.0.0.1:${currentPort}/v1/jobs/${id}`)).json()) as { state: string }).state;
    await until(
      "the three jobs finished",
      async () => (await Promise.all(ids.map(stateOf))).every((state) => state === "done" || state === "failed"),
      180_000,
    );
    const found = await round();
    const novel = found.opened.find((opened) => opened.pattern === "novel");
    expect(novel?.title).toBe('repeated error: serve jobs: "sh failed (exit 7): error: upstream refused token [REDACTED]"');
    const excerpt = query<{ excerpt: string }>("SELECT excerpt FROM incidents WHERE id = ?", novel?.id ?? "")[0]?.excerpt ?? "";
    expect(excerpt.split("\n")).toHaveLength(3);
    for (const line of excerpt.split("\n")) expect(line).toEndWith('serve jobs: "sh failed (exit 7): error: upstream refused token [REDACTED]"');
    expect(kindsOf(novel?.id ?? "")).toEqual(["opened", "diagnosis"]);
    expect(textOf(novel?.id ?? "", "diagnosis")).toContain('"every deploy is refused upstream"');
    for (const message of sink.received) expect(carriesSecret(message.body, token)).toBe(false);
  }, 600_000);

  test("a promotion whose current cannot start is rolled back, and that is said at once, as is the recovery", async () => {
    const branch = "cand/20261123T101500Z";
    brokenServeCandidate(clone.dir, branch);
    const promoted = await org(["promote", branch, "--repo", clone.dir, "--no-restart"]);
    expect(promoted.out).toContain("tagged promote/");
    const tag = gitSync(clone.dir, ["for-each-ref", "--format=%(refname:strip=2)", "refs/tags/promote/"]).trim().split("\n").at(-1) ?? "";
    process.kill(await currentPid(), "SIGKILL");
    let incident = "";
    for (let rounds = 1; ; rounds += 1) {
      expect(rounds).toBeLessThanOrEqual(12);
      const summary = await round();
      incident ||= summary.opened.find((opened) => opened.pattern === "current")?.id ?? "";
      if (query<{ state: string }>("SELECT state FROM fixes WHERE action = 'rollback-promotion'")[0]?.state === "verified") break;
    }
    const kinds = kindsOf(incident);
    expect(kinds.filter((kind) => kind !== "fix-failed")).toEqual(["opened", "fixed", "recovered"]);
    expect(textOf(incident, "fixed")).toMatch(
      new RegExp(`fix f[0-9a-f]{10} \\(rollback-promotion ${tag}\\) of ${incident} applied: rolled back ${tag} by rollback/`),
    );
    expect(textOf(incident, "recovered")).toContain("(rollback-promotion)");
  }, 600_000);

  test("every message is signed, one line each, and holds no secret", () => {
    expect(sink.received.length).toBeGreaterThan(0);
    for (const message of sink.received as SinkMessage[]) {
      expect(message.signature).toBe(signBody(message.body, hookSecret));
      for (const line of message.text.split("\n")) expect(line).toStartWith("[org supervise] ");
      expect(carriesSecret(message.body, token)).toBe(false);
    }
  });
});
