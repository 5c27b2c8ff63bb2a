import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../testing/org-process.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-schedule-cli-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

// `org schedule` as docs/schedules.md's session types it, and as the heartbeat starts it (run NAME --json, its last
// line the outcome).
test("a schedule waits for trust; run records its session, which chat resumes; pause, resume and list say what they did", async () => {
  await using server = await startScriptedServer({ script: { rules: [{ reply: { text: "the news for {{lastMessage}}" } }] }, port: 0 });
  const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b", ORG_EMBED_MODEL: "off" };
  const morning = { cron: "0 8 * * mon-fri", to: "agent", message: "today", session: "mornings" };
  const nightly = { cron: "30 2 * * *", workflow: "checksum-report", inputs: { dir: "data" } };
  writeFileSync(join(workspace, "org.config.json"), JSON.stringify({ schedules: { "morning-news": morning, "nightly-sums": nightly } }));
  const org = (...args: string[]) => runOrgProcess([...args, "--workspace", workspace], { cwd: workspace, env, timeoutMs: 90_000 });

  const waiting = await org("schedule", "list");
  expect(waiting.stdout).toBe(
    "morning-news  waiting for 'org config trust' (it does not run until then)\n" +
      "nightly-sums  waiting for 'org config trust' (it does not run until then)\n",
  );
  expect((await org("schedule", "run", "morning-news")).stderr).toContain("schedule morning-news waits for your confirmation");
  expect((await org("config", "trust")).stdout).toContain("confirmed schedules.morning-news = 0 8 * * mon-fri: to agent:");

  const ran = await org("schedule", "run", "morning-news", "--json");
  expect(ran.stderr).toBe("");
  expect(ran.exitCode).toBe(0);
  const outcome = JSON.parse(ran.stdout.trim().split("\n").at(-1) ?? "") as { ok: boolean; summary: string; sessionId: string };
  expect(outcome).toMatchObject({ ok: true, summary: "the news for today" });
  // A session org chat --resume and the web room open; the state names it for the next run.
  expect(existsSync(join(workspace, ".org", "sessions", `${outcome.sessionId}.jsonl`))).toBe(true);
  const state = JSON.parse(readFileSync(join(workspace, ".org", "schedules", "state.json"), "utf8"));
  expect(state.sessions).toEqual({ mornings: outcome.sessionId });
  const resumed = await org("chat", "--resume", outcome.sessionId, "--once", "/history");
  expect(resumed.stdout.toLowerCase()).toContain("user: today\nagent: the news for today\n");

  // A workflow's run is recorded in its schedule's session too, failed or not: chat --resume shows it.
  const workflowRan = await org("schedule", "run", "nightly-sums", "--json");
  expect(workflowRan.exitCode).toBe(1);
  const workflowRun = JSON.parse(workflowRan.stdout.trim().split("\n").at(-1) ?? "") as { ok: boolean; summary: string; sessionId: string };
  expect(workflowRun).toMatchObject({ ok: false, summary: "there is no workflow checksum-report; 'org workflow list' names them" });
  expect(workflowRun.sessionId).not.toBe(outcome.sessionId);
  const workflowSession = await org("chat", "--resume", workflowRun.sessionId, "--once", "/history");
  expect(workflowSession.stdout).toMatch(/^schedule nightly-sums: workflow checksum-report: failed after \d+\.\d s \(ended early: (.*)\)$/m);
  expect(workflowSession.stdout).toContain(`(ended early: ${workflowRun.summary})`);

  expect((await org("schedule", "pause", "morning-news")).stdout).toBe("morning-news: paused; org schedule resume morning-news runs it again\n");
  const listed = JSON.parse((await org("schedule", "list", "--json")).stdout) as { schedules: { name: string; paused: boolean; session: string }[] };
  expect(listed.schedules).toMatchObject([
    { name: "morning-news", paused: true, session: outcome.sessionId },
    { name: "nightly-sums", paused: false, ok: false, session: workflowRun.sessionId },
  ]);
  expect((await org("schedule", "resume", "morning-news")).stdout).toBe("morning-news: resumed\n");
  const text = (await org("schedule", "list")).stdout;
  expect(text).toMatch(/^morning-news {2}0 8 \* \* mon-fri {2}to agent: "today" {2}next \d{4}-\d\d-\d\d 08:00 {2}last .* ok \(session /);

  const unknown = await org("schedule", "run", "evening");
  expect(unknown.exitCode).toBe(1);
  expect(unknown.stderr).toContain(`there is no schedule "evening" in org.config.json`);
}, 120_000);
