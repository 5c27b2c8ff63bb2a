import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { confirmConfig } from "../config/config-trust.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { deadPid, type SinkMessage, writeFailedGrowReport } from "../testing/supervise-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandbox } from "../testing/test-sandbox.ts";
import { uniqueSessionName } from "../testing/tmux.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { dayStart, REPORTS_DIR } from "./daily-report.ts";
import { databasesCheck } from "./databases-check.ts";
import { diskCheck } from "./disk-check.ts";
import { leftoversCheck } from "./leftovers-check.ts";
import { locksCheck } from "./locks-check.ts";
import { modelServerCheck } from "./model-server-check.ts";
import { novelCheck } from "./novel-errors.ts";
import type { RoundSummary } from "./supervise-round.ts";
import { type SupervisorSetup, superviseOnce } from "./supervisor.ts";
import { SupervisorState } from "./supervisor-state.ts";

// A week of org left alone, the supervisor's rounds driven one at a time on its own clock: a scripted model server
// behind a loopback proxy that refuses, hangs, answers 500 and 502, or is slow to its first token, back and forth; a
// disk filling and freed; a dead lock and a dead run's worktree; a damaged memory database; a serve job failing every
// four minutes and a scheduled grow run failing every hour; a webhook that is down for a while. A webhook sink on
// loopback keeps each message and its kind. Each incident is said opened once, its fixes that change things once, its
// giving up once and its recovery once; the quiet hour holds back only repeats; the messages come in order; today's
// report has each incident as it opens and closes, an outage days old included.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
type Mode = "up" | "refused" | "hang" | "500" | "502";

const received: (SinkMessage & { at: number })[] = [];
let sinkRefuses = false;
const sink = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const body = await request.text();
    if (sinkRefuses) return new Response("down for maintenance", { status: 503 });
    const parsed = JSON.parse(body) as { text: string; kind: string; key: string; time: string };
    received.push({ signature: null, body, text: parsed.text, kind: parsed.kind, key: parsed.key, at: Date.parse(parsed.time) });
    return new Response("ok");
  },
});

let model: ScriptedServer;
let mode: Mode = "up";
const hung: (() => void)[] = [];
// Set: a chat request waits for it before it goes on to the model, as a model still loading keeps its first token.
let firstToken: Promise<void> | undefined;
let waitingForFirstToken = 0;
/** The model server as clients reach it: a proxy in front of the scripted server, as nginx would answer for it. */
function proxyOn(port: number) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port,
    async fetch(request) {
      if (mode === "hang") return await new Promise<Response>((resolve) => hung.push(() => resolve(new Response("late", { status: 504 }))));
      if (mode === "500") return Response.json({ error: { message: "an error was encountered while running the model" } }, { status: 500 });
      if (mode === "502") return new Response("<html><h1>502 Bad Gateway</h1></html>", { status: 502 });
      const url = new URL(request.url);
      if (firstToken !== undefined && url.pathname.endsWith("/chat/completions")) {
        waitingForFirstToken += 1;
        await firstToken;
      }
      return await fetch(`${model.url}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body: (await request.text()) || null,
      });
    },
  });
}
let proxy: ReturnType<typeof proxyOn>;
let proxyPort = 0;
function setMode(next: Mode): void {
  if (mode === "refused" && next !== "refused") proxy = proxyOn(proxyPort);
  if (next === "refused" && mode !== "refused") proxy.stop(true);
  mode = next;
  for (const resolve of hung.splice(0)) resolve();
}

beforeAll(async () => {
  model = await startScriptedServer({
    script: {
      models: ["scripted"],
      rules: [{ when: { lastMessage: "slow" }, reply: { text: "at last" } }],
      fallback: { text: "hi" },
    },
  });
  proxy = proxyOn(0);
  proxyPort = proxy.port ?? 0;
});
afterAll(async () => {
  setMode("up");
  proxy?.stop(true);
  await model?.stop();
  sink.stop(true);
});

test("a week left alone: every incident opened once, its fixes, giving up and recovery each said once, in order; the report keeps up", async () => {
  using repo = tempGitRepo("org-supervise-week-");
  const dir = repo.dir;
  writeFileSync(join(dir, ".gitignore"), ".org/\n");
  gitSync(dir, ["add", ".gitignore"]);
  gitSync(dir, ["commit", "--quiet", "-m", "ignore .org"]);
  const env = { OLLAMA_BASE: `http://127.0.0.1:${proxyPort}`, OLLAMA_MODEL: "scripted" };
  const settings = {
    supervise: { webhook: `http://127.0.0.1:${sink.port}/hook`, backoff: "1m", maxRestarts: 3, window: "10m", incidentRepeats: 3, quietMinutes: 60 },
    backup: { dir: join(dir, "backups") },
  };
  writeFileSync(join(dir, "org.config.json"), JSON.stringify(settings));
  confirmConfig(join(dir, "org.config.json"), env, { workspaceDir: dir });
  let now = Date.parse("2026-11-23T00:00:00Z");
  let free = 50 * 1024 ** 3;
  const setup: SupervisorSetup = {
    workspaceDir: dir,
    repoDir: dir,
    sandbox: testSandbox,
    loadConfig: () => loadOrgConfig(join(dir, "org.config.json"), env, { workspaceDir: dir }),
    instance: { port: 9, tmuxSession: uniqueSessionName("org-sv-week"), startTimeoutMs: 10_000 },
    say: () => {},
    now: () => now,
    freeBytes: () => free,
    checks: [modelServerCheck, diskCheck, locksCheck, leftoversCheck, databasesCheck, novelCheck],
    // A hung server is told by the probe's timeout alone; eleven hung rounds waited 3 s each. A second still leaves the
    // proxy and the scripted server, in this process, room to answer an up round on a loaded machine.
    probeTimeoutMs: 1_000,
    signal: AbortSignal.timeout(1_500_000),
  };
  const state = SupervisorState.open(dir, now);
  const reportOf = (at: number) => readFileSync(join(dir, REPORTS_DIR, `${new Date(dayStart(at)).toISOString().slice(0, 10)}.md`), "utf8");
  const summaries: RoundSummary[] = [];
  // One round; today's report must already hold what it opened and closed.
  const round = async () => {
    const summary = await superviseOnce(setup, state);
    summaries.push(summary);
    for (const opened of summary.opened) expect(reportOf(now)).toContain(`**${opened.id}**`);
    for (const resolved of summary.resolved) expect(reportOf(now)).toMatch(new RegExp(`\\*\\*${resolved.id}\\*\\*.*resolved `));
    return summary;
  };
  /** Rounds a minute apart for `minutes`, while `during` happens before each. */
  const minutes = async (count: number, during: (minute: number) => void = () => {}) => {
    for (let minute = 0; minute < count; minute += 1) {
      during(minute);
      await round();
      now += MINUTE;
    }
  };
  const openedBy = (from: number, pattern: string) =>
    summaries.slice(from).flatMap((summary) => summary.opened.filter((opened) => opened.pattern === pattern).map((opened) => opened.id));
  const kindsOf = (incident: string) => received.filter((message) => message.key === incident).map((message) => message.kind);
  const outage = async (shape: readonly [Mode, number][]): Promise<string[]> => {
    const from = summaries.length;
    for (const [next, count] of shape) {
      setMode(next);
      await minutes(count);
    }
    setMode("up");
    await minutes(2);
    return openedBy(from, "model-server");
  };
  try {
    await minutes(2);
    // Day 1: outages of every kind and length, one at a time.
    for (const kind of ["refused", "hang", "500", "502"] as const) {
      now += 2 * HOUR;
      const opened = await outage([[kind, kind === "refused" ? 1 : 8]]);
      expect({ kind, opened: opened.length }).toEqual({ kind, opened: 1 });
      expect({ kind, said: kindsOf(opened[0] ?? "") }).toEqual({ kind, said: ["opened", "recovered"] });
    }
    // A slow first token is a model loading, not an outage: the answer held until three rounds have looked.
    const slow = summaries.length;
    let loaded = () => {};
    firstToken = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    const answered = fetch(`http://127.0.0.1:${proxyPort}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "scripted", stream: true, messages: [{ role: "user", content: "slow please" }] }),
    }).then((response) => response.text());
    await waitUntil("the slow request at the server", () => waitingForFirstToken === 1, 10_000);
    await minutes(3);
    loaded();
    firstToken = undefined;
    expect(await answered).toContain("at last");
    expect(openedBy(slow, "model-server")).toEqual([]);
    // Back and forth: each outage its own incident, opened and recovered once.
    now += HOUR;
    for (const kind of ["refused", "hang", "500", "refused", "502"] as const) {
      const opened = await outage([[kind, 1]]);
      expect({ kind, said: opened.map(kindsOf) }).toEqual({ kind, said: [["opened", "recovered"]] });
    }
    // One outage that changes its form: refused, then a proxy's 502, then hanging. The change is news once; the
    // change back within the quiet hour is held and goes with the recovery.
    now += HOUR;
    const [changing] = await outage([
      ["refused", 2],
      ["502", 2],
      ["hang", 2],
    ]);
    expect(kindsOf(changing ?? "")).toEqual(["opened", "changed", "recovered"]);
    const recovery = received.find((message) => message.key === changing && message.kind === "recovered")?.text ?? "";
    expect(recovery.split("\n")).toHaveLength(2);
    expect(recovery.split("\n")[1]).toStartWith(`[org supervise] recovered ${changing}:`);

    // Day 2-3: the server gone for 26 hours. The next day's report has it open.
    now = dayStart(now) + 86_400_000 + 8 * HOUR;
    const long = summaries.length;
    setMode("refused");
    await minutes(2);
    for (let hour = 0; hour < 26; hour += 1) {
      now += HOUR;
      await round();
    }
    const [away] = openedBy(long, "model-server");
    expect(reportOf(now)).toMatch(new RegExp(`\\*\\*${away}\\*\\* model server .* \\(model-server; opened \\S+, open, seen \\d+×\\)`));
    setMode("up");
    await minutes(1);
    expect(kindsOf(away ?? "")).toEqual(["opened", "recovered"]);
    expect(reportOf(now)).toMatch(new RegExp(`\\*\\*${away}\\*\\* model server .* \\(model-server; opened \\S+, resolved \\S+`));

    // Day 4: the disk fills for five hours. The fix fails: said at once, then repeats within the quiet hour held; the
    // giving up once; the recovery once.
    now += 6 * HOUR;
    const disk = summaries.length;
    free = 10 * 1024 ** 2;
    for (let step = 0; step < 30; step += 1) {
      await round();
      now += 10 * MINUTE;
    }
    free = 50 * 1024 ** 3;
    await minutes(1);
    const [full] = openedBy(disk, "disk");
    const diskKinds = kindsOf(full ?? "");
    expect(diskKinds[0]).toBe("opened");
    expect(diskKinds.at(-1)).toBe("recovered");
    expect(diskKinds.filter((kind) => kind === "gave-up")).toHaveLength(1);
    expect(diskKinds.filter((kind) => kind === "opened" || kind === "recovered")).toHaveLength(2);
    // At most one message of repeats an hour (five hours: the first at once, then one an hour).
    expect(diskKinds.filter((kind) => kind === "fix-failed").length).toBeLessThanOrEqual(6);

    // Day 5: a dead lock, a dead run's worktree, a damaged memory database: each opened, its fix said when it changes
    // what a person finds (the restore), and recovered, once.
    now += 12 * HOUR;
    const mishaps = summaries.length;
    mkdirSync(join(dir, ".org", "grow"), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(dir, ".org", "grow", "grow.lock"),
      JSON.stringify({ pid: deadPid(), start: "1", since: new Date(now).toISOString(), command: "org grow" }),
      { mode: 0o600 },
    );
    gitSync(dir, ["worktree", "add", "--quiet", "--detach", join(dir, ".org", "worktrees", `toolsmith-${deadPid()}-0badc0de`), "main"]);
    const { store } = MemoryStore.open(dir);
    store.save({ text: "the nightly deploy runs at two", persona: "agent" });
    store.close();
    await minutes(1);
    const memory = join(dir, ".org", "memory", "memory.sqlite");
    const fd = openSync(memory, "r+");
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
    closeSync(fd);
    await minutes(2);
    const fixedOnce = openedBy(mishaps, "databases");
    expect(fixedOnce.map(kindsOf)).toEqual([["opened", "fixed", "recovered"]]);
    for (const pattern of ["locks", "leftovers"])
      expect({ pattern, said: openedBy(mishaps, pattern).map(kindsOf) }).toEqual({ pattern, said: [["opened", "recovered"]] });

    // Day 6: a serve job failing every four minutes for an hour is one incident, over once the failures stop; an
    // hourly scheduled grow run failing the same way five times is one incident too.
    now += 12 * HOUR;
    const failing = summaries.length;
    const audit = (at: number) => {
      const day = new Date(at).toISOString().slice(0, 10);
      mkdirSync(join(dir, ".org", "audit"), { recursive: true, mode: 0o700 });
      const line = {
        time: new Date(at).toISOString(),
        requestId: "job-0badc0de",
        tool: "web_fetch",
        arguments: {},
        ok: false,
        exitCode: null,
        durationMs: 3,
        bytes: 0,
        error: "socket hang up",
      };
      appendFileSync(join(dir, ".org", "audit", `${day}.jsonl`), `${JSON.stringify(line)}\n`);
    };
    await minutes(60, (minute) => {
      if (minute % 4 === 0) audit(now);
    });
    await minutes(20);
    for (let hour = 0; hour < 5; hour += 1) {
      writeFailedGrowReport(dir, new Date(now), "render step failed: the template cache is locked");
      await minutes(1);
      now += HOUR;
    }
    now += 3 * HOUR;
    await minutes(1);
    const novel = openedBy(failing, "novel");
    expect(novel).toHaveLength(2);
    expect(novel.map(kindsOf)).toEqual([
      ["opened", "recovered"],
      ["opened", "recovered"],
    ]);

    // Day 7: the webhook is down as the server goes away, and back before it returns: the opening is sent before the recovery.
    now += 12 * HOUR;
    const dark = summaries.length;
    sinkRefuses = true;
    setMode("refused");
    await minutes(2);
    sinkRefuses = false;
    setMode("up");
    await minutes(2);
    const [unheard] = openedBy(dark, "model-server");
    const lines = received.filter((message) => message.key === unheard).flatMap((message) => message.text.split("\n"));
    expect(lines.map((line) => line.split(" ")[2])).toEqual(["incident", "recovered"]);
  } finally {
    state.close();
  }
  // Every message in the order it was said; none said twice.
  for (let index = 1; index < received.length; index += 1) expect(received[index]?.at ?? 0).toBeGreaterThanOrEqual(received[index - 1]?.at ?? 0);
  const once = received
    .filter((message) => ["opened", "fixed", "gave-up", "recovered"].includes(message.kind))
    .map((message) => `${message.key} ${message.kind}`);
  expect(new Set(once).size).toBe(once.length);
}, 1_500_000);
