import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { userOrgDir } from "../config/user-org-dir.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import { type McpToolRun, workflowEntries } from "../mcp-server/mcp-tool-catalog.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { readSealedTranscriptEvents, resume } from "../room/transcript.ts";
import type { SessionList, SessionTranscript } from "../serve/session-api.ts";
import { foldTranscriptLines } from "../web/room-pages.ts";
import { type AuditEntry, AuditLog } from "../security/audit-log.ts";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { LINES_WORKFLOW } from "../testing/mcp-fixtures.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { PublicTestSandbox } from "../testing/public-test-sandbox.ts";
import { egressRules } from "../config/egress-policy.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { runSchedule } from "./scheduled-run.ts";
import { RESULT_TEXT_CHARS } from "./workflow-run-session.ts";

const checkout = tempGitRepo("org-scheduled-run-");
afterAll(() => checkout[Symbol.dispose]());

const SCRIPT = {
  rules: [
    { when: { lastMessage: "^disk" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "df -h" } }] } },
    { when: { lastRole: "tool" as const }, reply: { text: "I could not run df: {{lastMessage}}" } },
    { reply: { text: "answer for {{lastMessage}}" } },
  ],
};

function auditLines(workspaceDir: string): { tool: string; ok: boolean; sessionId?: string; requestId?: string; arguments: unknown }[] {
  const dir = join(workspaceDir, ".org", "audit");
  return readdirSync(dir).flatMap((name) =>
    readFileSync(join(dir, name), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line)),
  );
}

test("a scheduled message runs unattended in its session: an 'ask' tool is denied, the runs go on in one session, each audited", async () => {
  await using fixture = await serveFixture({ script: SCRIPT, checkoutDir: checkout.dir });
  const agent = fixture.config.personas.find((persona) => persona.name === "agent");
  if (!agent) throw new Error("no agent persona in the default config");
  agent.tools = { ...agent.tools, sh: "ask" };
  const audited = {
    sessions: fixture.handler.sessions,
    sessionsDir: join(fixture.workspaceDir, ".org", "sessions"),
    workflow: () => undefined,
    audit: new AuditLog(join(fixture.workspaceDir, ".org", "audit")),
    secrets: fixture.config.secrets,
  };
  const signal = new AbortController().signal;

  const first = await runSchedule("disk-check", { cron: "0 * * * *", to: "agent", message: "disk usage?" }, undefined, audited, signal);
  expect(first.ok).toBe(true);
  expect(first.summary).toStartWith("I could not run df:");
  // Nobody was there to ask: the model was told so, and nothing ran.
  const told = (fixture.server.requests.at(-1)?.body as { messages: ChatMessage[] }).messages.at(-1);
  expect(told?.role).toBe("tool");
  expect(told?.content).toContain("no one can answer an approval question here");
  const sessionId = first.sessionId ?? "";
  expect(existsSync(join(fixture.workspaceDir, ".org", "sessions", `${sessionId}.jsonl`))).toBe(true);

  // The next run goes on in the same session: the model hears the earlier turn.
  const second = await runSchedule("disk-check", { cron: "0 * * * *", to: "agent", message: "and now?" }, sessionId, audited, signal);
  expect(second).toMatchObject({ ok: true, sessionId, summary: "answer for and now?" });
  const history = (fixture.server.requests.at(-1)?.body as { messages: ChatMessage[] }).messages.map((message) => message.content);
  expect(history).toContain("disk usage?");

  // A persona that is not in the room: a failed run, said, not a crash.
  const nobody = await runSchedule("ghost", { cron: "0 * * * *", to: "ghost", message: "hi" }, undefined, audited, signal);
  expect(nobody.ok).toBe(false);
  expect(nobody.summary).toContain("no persona ghost");
  const missing = await runSchedule("nightly", { cron: "0 2 * * *", workflow: "report", inputs: {} }, undefined, audited, signal);
  expect(missing).toMatchObject({ ok: false, summary: "there is no workflow report; 'org workflow list' names them" });

  // One audit line of its own for each run, beside the sh call the room audited.
  const lines = auditLines(fixture.workspaceDir);
  const runs = lines.filter((line) => line.tool === "schedule");
  expect(runs.map((line) => [line.requestId, line.ok])).toEqual([
    ["schedule:disk-check", true],
    ["schedule:disk-check", true],
    ["schedule:ghost", false],
    ["schedule:nightly", false],
  ]);
  expect(runs[0]?.sessionId).toBe(sessionId);
  expect(runs[0]?.arguments).toEqual({ schedule: "disk-check", cron: "0 * * * *", to: "agent", message: "disk usage?" });
}, 30_000);

test("a scheduled command under sandbox.egress reaches a listed host; an unlisted one is refused, nobody asked, and the result says so", async () => {
  const site = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => new Response(`hello ${new URL(request.url).pathname}\n`) });
  const port = site.port ?? 0;
  const cmd = `curl -sS --max-time 10 http://listed.test:${port}/listed; curl -sS --max-time 10 http://unlisted.test:${port}/unlisted`;
  const script = {
    rules: [
      { when: { lastMessage: "^fetch" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd } }] } },
      { when: { lastRole: "tool" as const }, reply: { text: "fetched" } },
    ],
  };
  const sandbox = new PublicTestSandbox();
  // As `org schedule run` assembles it: serve's sessions, under the config's sandbox.egress, which asks about a new host.
  const egress = egressRules({ allow: ["listed.test"], unlisted: "ask", ports: [port] });
  await using fixture = await serveFixture({
    script,
    checkoutDir: checkout.dir,
    serve: { tools: { sh: "allow" } },
    handlerOptions: { sandbox, sandboxPolicy: sandboxPolicy({ workspace: "none", poolSize: 0, egress }) },
  });
  const parts = {
    sessions: fixture.handler.sessions,
    sessionsDir: join(fixture.workspaceDir, ".org", "sessions"),
    workflow: () => undefined,
    secrets: [],
  };
  try {
    const outcome = await runSchedule(
      "fetch",
      { cron: "0 * * * *", to: "agent", message: "fetch the pages" },
      undefined,
      parts,
      AbortSignal.timeout(30_000),
    );
    expect(outcome).toMatchObject({ ok: true, summary: "fetched" });
    const told = String((fixture.server.requests.at(-1)?.body as { messages: ChatMessage[] }).messages.at(-1)?.content);
    expect(told).toContain("hello /listed\n");
    expect(told).toContain(`org's egress guard refused unlisted.test:${port}: not on sandbox.egress.allow, and nobody is there to ask`);
    expect(told).toContain("network: reached 1 host (listed.test)");
    // The session's transcript holds every event of the room: the run's result, and no question ever put.
    const { lines } = sealedLines(parts.sessionsDir, outcome.sessionId ?? "");
    const types = lines.map((line) => line.type);
    expect(types).toContain("tool-result");
    expect(types).not.toContain("approval-asked");
  } finally {
    site.stop(true);
    sandbox.pool.discardAll();
  }
}, 30_000);

const SECRET = "hunter2-very-secret-token";

/** The session's transcript read as `org grow` and memory trust it: the lines whose seal holds, and how many do not. */
function sealedLines(sessionsDir: string, sessionId: string) {
  let offset = 0;
  const lines = readFileSync(join(sessionsDir, `${sessionId}.jsonl`), "utf8")
    .split("\n")
    .map((text) => {
      const line = { offset, text };
      offset += Buffer.byteLength(text) + 1;
      return line;
    });
  const { heard, unsealed } = readSealedTranscriptEvents(sessionId, lines, userOrgDir(), { sessionsDir, legacy: false });
  return { lines: heard.map((entry) => entry.line), unsealed };
}

test("a scheduled workflow runs its saved steps in the sandbox, each run recorded in its session, sealed, listed, resumable", async () => {
  using repo = tempGitRepo("org-scheduled-workflow-");
  writeGeneratedTool(repo.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
  mkdirSync(join(repo.dir, "workflows"));
  writeFileSync(join(repo.dir, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
  await using fixture = await serveFixture({ script: SCRIPT, checkoutDir: checkout.dir });
  const sessionsDir = join(fixture.workspaceDir, ".org", "sessions");
  const records: AuditEntry[] = [];
  const parts = {
    sessions: { lease: () => Promise.reject(new Error("a workflow opens no room")) },
    sessionsDir,
    workflow: (name: string) => workflowEntries(repo.dir, [repo.dir], testSandboxAccess()).find((entry) => entry.name === name),
    audit: { record: (entry: AuditEntry) => records.push(entry) },
    secrets: [],
  };
  const signal = new AbortController().signal;
  const entry = { cron: "30 2 * * *", workflow: "count-all", inputs: { text: "one two three" } };
  const outcome = await runSchedule("nightly-count", entry, undefined, parts, signal);
  expect(outcome).toMatchObject({ name: "nightly-count", ok: true, summary: '{"words":3}' });
  const sessionId = outcome.sessionId ?? "";
  // The next run (its text missing: the workflow refuses it) goes on in the same session, as a message's runs do.
  const failed = await runSchedule("nightly-count", { ...entry, inputs: {} }, sessionId, parts, signal);
  expect(failed).toMatchObject({ ok: false, sessionId });
  expect(records.map((record) => [record.tool, record.requestId, record.ok, record.sessionId])).toEqual([
    ["schedule", "schedule:nightly-count", true, sessionId],
    ["schedule", "schedule:nightly-count", false, sessionId],
  ]);

  // Every line org wrote is sealed: two runs, each a turn with the workflow's call, its result and how it ended.
  const { lines, unsealed } = sealedLines(sessionsDir, sessionId);
  expect(unsealed).toBe(0);
  const starts = lines.flatMap((line) => (line.type === "turn-start" ? [line.text] : []));
  expect(starts).toEqual([
    'schedule nightly-count (30 2 * * *) ran workflow count-all with {"text":"one two three"}',
    "schedule nightly-count (30 2 * * *) ran workflow count-all with {}",
  ]);
  const results = lines.flatMap((line) => (line.type === "tool-result" ? [line] : []));
  expect(results.map((line) => [line.call.name, line.ok, line.output, line.data])).toEqual([
    ["count-all", true, '{"words":3}', { words: 3 }],
    ["count-all", false, failed.summary, undefined],
  ]);
  expect(lines.filter((line) => line.type === "turn-end").map((line) => line.type === "turn-end" && line.ok)).toEqual([true, false]);

  // `org chat --resume ID` shows these messages (its greeting and /history are the restored history).
  const restored = resume(sessionsDir, sessionId);
  expect(restored.history.map((message) => [message.from, message.text.split("\n")[0], message.failed, message.heardBy])).toEqual([
    ["schedule nightly-count", expect.stringMatching(/^workflow count-all: ok in \d+\.\d s$/), undefined, []],
    ["schedule nightly-count", expect.stringMatching(/^workflow count-all: failed after \d+\.\d s$/), failed.summary, []],
  ]);
  expect(restored.history[0]?.text).toEndWith('\n{"words":3}');

  // The web room's session list names it by the run, and opening it there shows both runs.
  const listed = (await (await fixture.handler.fetch(new Request("http://127.0.0.1/v1/sessions"))).json()) as SessionList;
  expect(listed.sessions.find((session) => session.id === sessionId)?.title).toStartWith("schedule nightly-count (30 2 * * *) ran workflow");
  const page = (await (await fixture.handler.fetch(new Request(`http://127.0.0.1/v1/sessions/${sessionId}`))).json()) as SessionTranscript;
  expect(page.lines.filter((line) => line.type === "message")).toHaveLength(2);
  // What the web room draws of that answer: each run a turn, the schedule's reply with the workflow's call and result.
  const drawn = foldTranscriptLines(page.lines, [], page.mode).turns.map((turn) => ({
    text: turn.text,
    replies: turn.replies.map((reply) => ({ persona: reply.persona, parts: reply.parts.map((part) => part.kind), error: reply.error })),
    ok: turn.ok,
  }));
  expect(drawn).toEqual([
    { text: starts[0] ?? "", replies: [{ persona: "schedule nightly-count", parts: ["tool", "text"], error: undefined }], ok: true },
    { text: starts[1] ?? "", replies: [{ persona: "schedule nightly-count", parts: ["tool", "text"], error: failed.summary }], ok: false },
  ]);
}, 30_000);

test("a workflow's hostile output is redacted, its escapes made visible and cut before its session keeps it", async () => {
  using workspace = tempGitRepo("org-scheduled-hostile-");
  const sessionsDir = join(workspace.dir, ".org", "sessions");
  const hostile = `\x1b]0;owned\x07\x1b[2J headline token ${SECRET} ${"x".repeat(RESULT_TEXT_CHARS * 2)}`;
  const { store: memory } = MemoryStore.open(workspace.dir);
  let answer: McpToolRun = { ok: true, output: { note: hostile, [`key ${SECRET}`]: 1 } };
  const parts = {
    sessions: { lease: () => Promise.reject(new Error("a workflow opens no room")) },
    sessionsDir,
    memory,
    workflow: () => ({ run: async () => answer }),
    secrets: [SECRET],
  };
  const signal = new AbortController().signal;
  const entry = { cron: "0 * * * *", workflow: "fetch-news", inputs: { auth: SECRET, topic: "\x1b[31mred" } };
  const ok = await runSchedule("news", entry, undefined, parts, signal);
  answer = { ok: false, error: `the server said 401 for ${SECRET}\x1b[2J` };
  const failed = await runSchedule("news", entry, ok.sessionId, parts, signal);
  expect(failed.sessionId).toBe(ok.sessionId ?? "");
  expect(ok.summary).not.toContain(SECRET);

  const text = readFileSync(join(sessionsDir, `${ok.sessionId}.jsonl`), "utf8");
  expect(text).not.toContain(SECRET);
  // No escape byte is kept, not even JSON-escaped: each is shown as the text \x1b.
  expect(text).not.toContain("\\u001b");
  expect(text).toContain("\\\\x1b]0;owned");
  const { lines, unsealed } = sealedLines(sessionsDir, ok.sessionId ?? "");
  expect(unsealed).toBe(0);
  const results = lines.flatMap((line) => (line.type === "tool-result" ? [line] : []));
  expect(results[0]?.output.length).toBeLessThan(RESULT_TEXT_CHARS + 50);
  expect(results[0]?.output).toEndWith(`(cut at ${RESULT_TEXT_CHARS} characters)`);
  // Data too long to keep is left out; the cut text stands for it.
  expect(results[0]?.data).toBeUndefined();
  expect(results[0]?.call.arguments).toEqual({ auth: "[REDACTED]", topic: "\\x1b[31mred" });
  expect(results[1]).toMatchObject({ ok: false, output: "the server said 401 for [REDACTED]\\x1b[2J" });

  // Memory indexed the runs as they were written: a search finds them in their session, redacted.
  const found = await memory.search("headline");
  memory.close();
  expect(found.hits.map((hit) => [hit.kind, hit.sessionId])).toContainEqual(["tool-result", ok.sessionId]);
  expect(JSON.stringify(found.hits)).not.toContain(SECRET);
}, 30_000);
