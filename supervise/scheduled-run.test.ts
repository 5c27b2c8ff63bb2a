import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatMessage } from "../llm/chat-types.ts";
import { workflowEntries } from "../mcp-server/mcp-tool-catalog.ts";
import { type AuditEntry, AuditLog } from "../security/audit-log.ts";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { LINES_WORKFLOW } from "../testing/mcp-fixtures.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { runSchedule } from "./scheduled-run.ts";

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

test("a scheduled workflow runs its saved steps in the sandbox with the schedule's inputs, audited", async () => {
  using repo = tempGitRepo("org-scheduled-workflow-");
  writeGeneratedTool(repo.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
  mkdirSync(join(repo.dir, "workflows"));
  writeFileSync(join(repo.dir, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
  const records: AuditEntry[] = [];
  const parts = {
    sessions: { lease: () => Promise.reject(new Error("a workflow opens no session")) },
    workflow: (name: string) => workflowEntries(repo.dir, [repo.dir], testSandboxAccess()).find((entry) => entry.name === name),
    audit: { record: (entry: AuditEntry) => records.push(entry) },
    secrets: [],
  };
  const outcome = await runSchedule(
    "nightly-count",
    { cron: "30 2 * * *", workflow: "count-all", inputs: { text: "one two three" } },
    undefined,
    parts,
    new AbortController().signal,
  );
  expect(outcome).toMatchObject({ name: "nightly-count", ok: true, summary: '{"words":3}' });
  expect(records.map((record) => [record.tool, record.requestId, record.ok])).toEqual([["schedule", "schedule:nightly-count", true]]);
}, 30_000);
