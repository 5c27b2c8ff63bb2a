import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { reloadServeConfig } from "../cli/serve/serve-config-reload.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { RoomStreamFrame } from "../room/room-stream-frame.ts";
import { sandboxPolicy as policyWith } from "../sandbox/sandbox-policy.ts";
import { writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { type Watcher, watchStream } from "../testing/room-stream-client.ts";
import { post, type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";

// The web room (`org web`: sessions under the room's own policies) asks about a workspace change on the page, as the
// terminal room asks, and takes an edited config; serve's API for programs keeps serve.tools ("deny" unless set).
const checkout = tempGitRepo("org-web-room-policies-");
afterAll(() => checkout[Symbol.dispose]());

const write = (file: string) => ({ toolCalls: [{ name: "sh", arguments: { cmd: `echo fixed > ${file}` } }] });
const script = {
  rules: [
    { when: { lastMessage: "^one$" }, reply: write("one.txt") },
    { when: { lastMessage: "^two$" }, reply: write("two.txt") },
    { when: { lastMessage: "^three$" }, reply: write("three.txt") },
    { when: { lastRole: "tool" as const }, reply: { text: "ok" } },
    { reply: write("api.txt") },
  ],
};

/** The web room's serve: the write view, sessions under the room's policies, rooms on a config `org web` may replace. */
function webServe() {
  return serveFixture({
    script,
    checkoutDir: checkout.dir,
    followConfig: true,
    handlerOptions: { sandboxPolicy: policyWith({ workspace: "write", poolSize: 0 }), sessionPolicies: "room" },
  });
}

/** A session of the web room, in direct mode with agent, watched as the page watches it. */
async function openSession(fixture: ServeFixture): Promise<{ session: string; watcher: Watcher }> {
  const fetch = (request: Request) => fixture.handler.fetch(request);
  const created = await fetch(post("http://127.0.0.1/v1/sessions", { mode: "direct:agent" }));
  const { session } = (await created.json()) as { session: string };
  const watcher = await watchStream(`http://127.0.0.1/v1/sessions/${session}/events`, {}, fetch);
  return { session, watcher };
}

type Event = Extract<RoomStreamFrame, { kind: "event" }>["event"];
const event = (frame: RoomStreamFrame): Event | undefined => (frame.kind === "event" ? frame.event : undefined);
const asked = (frame: RoomStreamFrame) => event(frame)?.type === "approval-asked";
const turnEnd = (frame: RoomStreamFrame) => event(frame)?.type === "turn-end";
const said = (watcher: Watcher, text: string, from = 0) =>
  watcher.waitFor((frame) => String((event(frame) as { message?: string } | undefined)?.message).includes(text), `a notice with "${text}"`, { from });
const notices = (watcher: Watcher) =>
  watcher.frames.flatMap((frame) => (event(frame)?.type === "notice" ? [(event(frame) as { message: string }).message] : []));

/** Sends `text` in the session and waits for the change's question (or the turn's end when none comes). */
async function send(fixture: ServeFixture, session: string, watcher: Watcher, text: string) {
  const from = watcher.frames.length;
  const sent = await fixture.handler.fetch(post(`http://127.0.0.1/v1/sessions/${session}/messages`, { text }));
  expect(sent.status).toBe(202);
  const next = await watcher.waitFor((frame) => asked(frame) || turnEnd(frame), `the question or the end of "${text}"`, { from });
  return { from, question: next.kind === "event" && next.event.type === "approval-asked" ? next.event : undefined };
}

async function answer(fixture: ServeFixture, session: string, approvalId: string, answer: "yes" | "no") {
  const answered = await fixture.handler.fetch(post(`http://127.0.0.1/v1/sessions/${session}/approvals/${approvalId}`, { answer }));
  expect(answered.status).toBe(200);
}

test("the web room asks about a change on the page: approved it is applied, denied it is not; the OpenAI route still denies", async () => {
  await using fixture = await webServe();
  const { session, watcher } = await openSession(fixture);
  try {
    const first = await send(fixture, session, watcher, "one");
    expect(first.question?.call.name).toBe("workspace_write");
    expect(first.question?.preview).toContain("+fixed");
    expect(existsSync(join(fixture.workspaceDir, "one.txt"))).toBe(false);
    await answer(fixture, session, first.question?.approvalId ?? "", "yes");
    await watcher.waitFor(turnEnd, "the first turn's end", { from: first.from });
    expect(readFileSync(join(fixture.workspaceDir, "one.txt"), "utf8")).toBe("fixed\n");

    const second = await send(fixture, session, watcher, "two");
    expect(second.question?.call.name).toBe("workspace_write");
    await answer(fixture, session, second.question?.approvalId ?? "", "no");
    await watcher.waitFor(turnEnd, "the second turn's end", { from: second.from });
    expect(existsSync(join(fixture.workspaceDir, "two.txt"))).toBe(false);
    expect(notices(watcher)).toContain("agent's change was not applied: the user said no");

    // A program's request on the same server: serve's own policy, "deny" unless serve.tools says otherwise.
    const completion = await fixture.handler.fetch(
      post("http://127.0.0.1/v1/chat/completions", { model: "agent", messages: [{ role: "user", content: "api" }] }),
    );
    expect(completion.status).toBe(200);
    expect(existsSync(join(fixture.workspaceDir, "api.txt"))).toBe(false);
    const told = fixture.server.requests
      .filter((request) => request.path === "/v1/chat/completions")
      .flatMap((request) => (request.body as { messages: ChatMessage[] }).messages)
      .filter((m) => m.role === "tool");
    expect(told.at(-1)?.content).toContain(`the workspace_write policy is "deny" (serve.tools.workspace_write, over HTTP ("deny" unless set))`);
  } finally {
    watcher.drop();
  }
}, 60_000);

test("a running web room takes an edited config under the trust rules, and says so in the room", async () => {
  await using fixture = await webServe();
  const { session, watcher } = await openSession(fixture);
  const reload = {
    configFile: undefined,
    workspaceDir: fixture.workspaceDir,
    roomConfig: fixture.roomConfig ?? expect.unreachable(),
    say: (message: string) => fixture.handler.sessions.notice("config", message),
    log: () => {},
    env: { OLLAMA_BASE: fixture.server.url, OLLAMA_MODEL: "qwen3:8b" },
    sandboxPolicy: () => policyWith({ workspace: "write", poolSize: 0 }),
  };
  const file = join(fixture.workspaceDir, "org.config.json");
  try {
    // Not a config: the room goes on as it was, and says why.
    writeFileSync(file, "{ not json");
    reloadServeConfig(reload);
    await said(watcher, "org.config.json changed, but this room cannot use it");
    expect(fixture.roomConfig?.generation).toBe(0);

    // "allow" waits for `org config trust`: meanwhile it asks, as the terminal room does, and the room says what waits.
    writeFileSync(file, JSON.stringify({ sandbox: { workspaceWrite: "allow" } }));
    reloadServeConfig(reload);
    await said(watcher, "org.config.json changed; nothing this room runs on did");
    await said(watcher, "not in effect until you confirm it: sandbox.workspaceWrite (allow)");
    const unconfirmed = await send(fixture, session, watcher, "one");
    expect(unconfirmed.question?.call.name).toBe("workspace_write");
    await answer(fixture, session, unconfirmed.question?.approvalId ?? "", "no");
    await watcher.waitFor(turnEnd, "the first turn's end", { from: unconfirmed.from });

    // Confirmed by the person ('org config trust'), it applies without asking.
    writeConfirmedConfig(fixture.workspaceDir, { sandbox: { workspaceWrite: "allow" } });
    reloadServeConfig(reload);
    const trusted = await send(fixture, session, watcher, "two");
    expect(trusted.question).toBeUndefined();
    expect(readFileSync(join(fixture.workspaceDir, "two.txt"), "utf8")).toBe("fixed\n");

    // An edit to "deny" is taken before the next turn.
    const before = watcher.frames.length;
    writeFileSync(file, JSON.stringify({ sandbox: { workspaceWrite: "deny" } }));
    reloadServeConfig(reload);
    const changed = await said(watcher, "changed (sandbox.workspaceWrite)", before);
    expect((event(changed) as { message: string }).message).toBe(
      `· ${file} changed (sandbox.workspaceWrite): the room opens again on it before its next turn, and its session goes on.`,
    );
    const denied = await send(fixture, session, watcher, "three");
    expect(denied.question).toBeUndefined();
    expect(existsSync(join(fixture.workspaceDir, "three.txt"))).toBe(false);
    expect(notices(watcher)).toContain(`agent's change was not applied: the workspace_write policy is "deny" (sandbox.workspaceWrite)`);
  } finally {
    watcher.drop();
  }
}, 60_000);
