import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RepoGit } from "../git/repo-git.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { StagedFacts } from "../memory/staged-facts.ts";
import type { RoomEvent } from "../room/room-event.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { type Route, routeListing } from "../serve/router.ts";
import { watchStream } from "../testing/room-stream-client.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { scriptedConfig } from "../testing/scripted-config.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { pageAssets } from "./page-assets.ts";
import { ViewUpdates } from "./view-updates.ts";
import { type WebContext, viewRoutes, webRoutes } from "./web-routes.ts";

// The views' routes are declared to the router before their code is loaded (web-routes.ts): what each group declares
// must be what its module serves, or a view answers 500 the first time it is opened.
const checkout = tempGitRepo("org-web-routes-checkout-");
const workspaces: string[] = [];
afterAll(() => {
  checkout[Symbol.dispose]();
  for (const workspace of workspaces) rmSync(workspace, { recursive: true, force: true });
});

/** The web room's routes on a serve handler over `checkout`, as org serve mounts them; the context they were given. */
async function webServe(model: { script?: ScriptInput; contextTokens?: number; streamsPerSession?: number } = {}) {
  let context: WebContext | undefined;
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-web-routes-ws-"));
  workspaces.push(workspaceDir);
  const config = scriptedConfig(join(workspaceDir, "org.config.json"), "http://127.0.0.1:9");
  if (model.streamsPerSession !== undefined) config.serve = { ...config.serve, streamsPerSession: model.streamsPerSession };
  const fixture = await serveFixture({
    script: model.script ?? { rules: [] },
    ...(model.contextTokens !== undefined ? { contextTokens: model.contextTokens } : {}),
    checkoutDir: checkout.dir,
    workspaceDir,
    handlerOptions: {
      extraRoutes: ({ sessions, logError, reloadTools, streamTicket }) => {
        context = {
          ...testSandboxAccess(),
          workspaceDir,
          checkoutDir: checkout.dir,
          config,
          sessions,
          logError,
          assets: pageAssets,
          reloadTools,
          streamTicket,
        };
        return webRoutes(context);
      },
    },
  });
  if (context === undefined) throw new Error("serve did not ask for the web room's routes");
  return { fixture, context };
}

test("each view's routes, loaded on use, are the routes it declares, with serve's default auth", async () => {
  const { fixture, context } = await webServe();
  await using _ = fixture;
  const git = new RepoGit(checkout.dir);
  const groups = viewRoutes(context, git, new ViewUpdates({ workspaceDir: context.workspaceDir, checkoutDir: checkout.dir, maxStreams: 8 }));
  expect(groups.length).toBe(6);
  for (const { declared, load } of groups) {
    const routes: Route[] = await load();
    expect(routeListing(routes).sort()).toEqual(declared.map(([method, pattern]) => `${method} ${pattern}`).sort());
    expect(routes.filter((entry) => !entry.auth || entry.sameOrigin || entry.page)).toEqual([]);
  }
});

test("a view's route answers through serve on its first request, its module loaded then", async () => {
  const { fixture } = await webServe();
  await using _ = fixture;
  const usage = await fixture.handler.fetch(new Request("http://org.test/v1/tool-usage"));
  expect(usage.status).toBe(200);
  expect(await usage.json()).toMatchObject({ tools: expect.any(Array) });
  const growth = await fixture.handler.fetch(new Request("http://org.test/v1/growth"));
  expect(growth.status).toBe(200);
  expect(await growth.json()).toEqual({ proposals: [], runs: [] });
  expect(fixture.errors).toEqual([]);
});

test("/compact and /context from the web room: a session's summaries now, and each persona's next prompt part by part", async () => {
  const { fixture } = await webServe();
  await using _ = fixture;
  const call = (path: string, init: RequestInit = {}) => fixture.handler.fetch(new Request(`http://org.test${path}`, init));
  const post = (path: string, body: unknown) =>
    call(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const created = await post("/v1/sessions", { mode: "direct:agent" });
  const { session } = (await created.json()) as { session: string };
  const context = await call(`/v1/sessions/${session}/context`);
  expect(context.status).toBe(200);
  const { said } = (await context.json()) as { said: string };
  expect(said).toMatch(/^agent \([^)]+\): next prompt \d+ of a 4\.1 k-token window/);
  for (const part of ["system prompt", "tools", "summary         none", "reply reserve"]) expect(said).toContain(part);
  expect((await call(`/v1/sessions/${session}/context?persona=nobody`)).status).toBe(404);
  const compact = await post(`/v1/sessions/${session}/compact`, { focus: "the deploy" });
  expect(compact.status).toBe(200);
  expect(await compact.json()).toEqual({ said: "agent: nothing compacted (agent has no earlier messages to summarise)" });
  expect((await post(`/v1/sessions/${session}/compact`, { focus: 3 })).status).toBe(400);
  expect(fixture.errors).toEqual([]);
});

test("/facts from the web room: the observer's proposals listed, one accepted into memory, a wrong number said", async () => {
  const { fixture, context } = await webServe();
  await using _ = fixture;
  StagedFacts.of(context.workspaceDir).update((file) => {
    file.pending.push({
      id: "s-0000aaaa",
      text: "uses pnpm",
      kind: "preference",
      quote: "I always use pnpm",
      sessionId: "20261129-100000-abcdef",
      messageId: "m1",
      time: new Date().toISOString(),
    });
  });
  const post = async (argument: unknown) =>
    fixture.handler.fetch(
      new Request("http://org.test/v1/facts", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ argument }),
      }),
    );
  expect(((await (await post("")).json()) as { said: string }).said).toContain('1. uses pnpm (preference) — you said "I always use pnpm"');
  expect(((await (await post("accept 2")).json()) as { said: string }).said).toBe("there is no fact 2; /facts lists 1 (1 to 1).");
  expect(((await (await post("accept 1")).json()) as { said: string }).said).toMatch(/^accepted: uses pnpm is fact f-/);
  expect((await post(3)).status).toBe(400);
  const { store } = MemoryStore.open(context.workspaceDir);
  try {
    expect(store.facts().map((fact) => [fact.text, fact.quote])).toEqual([["uses pnpm", "I always use pnpm"]]);
  } finally {
    store.close();
  }
  expect(fixture.errors).toEqual([]);
});

test("a line of the message box that starts with /: read and run by the room's one interpreter, its answer said as in the terminal", async () => {
  const { fixture } = await webServe();
  await using _ = fixture;
  const command = async (session: string, line: unknown) => {
    const answer = await fixture.handler.fetch(
      new Request(`http://org.test/v1/sessions/${session}/command`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ line }),
      }),
    );
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown> & { lines?: string[] } };
  };
  const created = await fixture.handler.fetch(
    new Request("http://org.test/v1/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
  );
  const { session } = (await created.json()) as { session: string };
  expect(await command(session, "/mode direct:agent")).toEqual({
    status: 200,
    body: { type: "answer", command: "mode", ok: true, lines: ["mode: direct:agent"] },
  });
  expect((await command(session, "/mode")).body.lines).toEqual([
    "mode: direct:agent  (others: group, direct:agent, direct:python, direct:toolsmith, file:<path>)",
  ]);
  expect(await command(session, "/diff")).toMatchObject({ body: { ok: true, lines: ["(no workspace change in this session yet)"] } });
  expect((await command(session, "/undo")).body).toMatchObject({ command: "undo", ok: false, lines: [expect.stringMatching(/^\/undo: /)] });
  expect((await command(session, "/output 0")).body.lines).toEqual([
    "/output takes a result's number, e.g. /output 3 (its ✓ line names it). Usage: /output [N]",
  ]);
  // What the web room does not offer is refused by name; a message that starts with / comes back to be sent.
  expect((await command(session, "/quit")).body).toMatchObject({ ok: false, lines: [expect.stringContaining("not a command of the web room")] });
  expect((await command(session, "//etc/hosts is a path")).body).toEqual({ type: "message", text: "/etc/hosts is a path" });
  // The observer's proposals, as /facts in the terminal; accept is the person's to type here too.
  expect((await command(session, "/facts")).body.lines).toEqual(["no facts wait for you: the observer has proposed nothing new about you."]);
  expect((await command(session, "/facts frob")).body).toMatchObject({ ok: false, lines: [expect.stringContaining("Usage: /facts")] });
  expect((await command(session, 3)).status).toBe(400);
  expect((await command("no-such-session", "/diff")).status).toBe(404);
  expect(fixture.errors).toEqual([]);
});

const filler = (turn: number) =>
  `Note ${turn} follows. ${"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore ".repeat(16)}`;

test("a session over serve's API at a 2 048-token window: a compaction on its event stream, then /context and /compact", async () => {
  const { fixture } = await webServe({ script: { rules: [{ reply: { text: "Noted." } }] }, contextTokens: 2048 });
  await using _ = fixture;
  fixture.config.compaction.reserveTokens = 256;
  const call = (path: string, init: RequestInit = {}) => fixture.handler.fetch(new Request(`http://org.test${path}`, init));
  const post = (path: string, body: unknown) =>
    call(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const created = await post("/v1/sessions", { mode: "direct:agent" });
  const { session } = (await created.json()) as { session: string };
  const watcher = await watchStream(`http://org.test/v1/sessions/${session}/events`, {}, (request) => fixture.handler.fetch(request));
  try {
    const eventOf = <T extends RoomEvent["type"]>(type: T, more: (event: Extract<RoomEvent, { type: T }>) => boolean = () => true) =>
      watcher.frames.flatMap((frame) =>
        frame.kind === "event" && frame.event.type === type && more(frame.event as Extract<RoomEvent, { type: T }>)
          ? [frame.event as Extract<RoomEvent, { type: T }>]
          : [],
      );
    // Long messages, turn after turn, until the first falls out of the agent's window and is summarised meanwhile.
    let turn = 0;
    while (eventOf("compaction").length === 0 && turn < 6) {
      turn += 1;
      const text = turn === 1 ? `The staging database listens on port 6543. ${filler(turn)}` : filler(turn);
      const sent = await post(`/v1/sessions/${session}/messages`, { text });
      expect(sent.status).toBe(202);
      const { turnId } = (await sent.json()) as { turnId: string };
      await watcher.waitFor(
        (frame) => frame.kind === "event" && frame.event.type === "turn-end" && frame.event.turnId === turnId,
        `turn ${turn}'s end`,
        {
          timeoutMs: 30_000,
        },
      );
    }
    const [compaction] = eventOf("compaction");
    expect(compaction?.persona).toBe("agent");
    expect(compaction?.summary).toContain("port 6543");
    // No prompt the room sent was over the window the server states.
    expect(fixture.server.requests.filter((request) => request.outcome === "over the window")).toEqual([]);

    // /context: the next prompt holds that summary, in the window the server said.
    const context = (await (await call(`/v1/sessions/${session}/context`)).json()) as { said: string };
    expect(context.said).toMatch(/^agent \([^)]+\): next prompt [\d.]+ k? ?of a 2\.0 k-token window \(n_ctx 2048 from \/props\)/);
    expect(context.said).toMatch(new RegExp(`\n  summary +${compaction?.tokens} \\(${compaction?.messages} earlier messages?\\)\n`));

    // /compact, one more turn on: the newer messages folded in; said in the answer and as a second compaction event.
    const more = await post(`/v1/sessions/${session}/messages`, { text: filler(turn + 1) });
    const { turnId } = (await more.json()) as { turnId: string };
    await watcher.waitFor(
      (frame) => frame.kind === "event" && frame.event.type === "turn-end" && frame.event.turnId === turnId,
      "the last turn's end",
      {
        timeoutMs: 30_000,
      },
    );
    const compact = await post(`/v1/sessions/${session}/compact`, { focus: "the staging database" });
    expect(compact.status).toBe(200);
    const { said } = (await compact.json()) as { said: string };
    expect(said).toMatch(/^agent: compacted \d+ messages? into a summary, \d+ tokens$/);
    // The room publishes the event before /compact answers; the stream brings it within a bounded wait.
    const focused = (event: Extract<RoomEvent, { type: "compaction" }>) => event.focus === "the staging database";
    await waitUntil("the /compact summary on the stream", () => eventOf("compaction", focused).length > 0, 10_000);
    const [latest] = eventOf("compaction", focused);
    expect(latest?.persona).toBe("agent");
    expect(said).toBe(`agent: compacted ${latest?.messages} message${latest?.messages === 1 ? "" : "s"} into a summary, ${latest?.tokens} tokens`);
    // The earlier summary carried forward: the fact from the first message is still there.
    expect(latest?.summary).toContain("port 6543");
    expect(fixture.errors).toEqual([]);
  } finally {
    watcher.drop();
  }
}, 90_000);

// Issue 74, item 5: 300 streams of the views' updates with one cookie were all accepted. They are bounded per server,
// as a session's event streams are (serve.streamsPerSession): the next is a 429 naming the bound, a closed one frees its place.
test("the views' update streams are bounded: exactly the bound let in, the rest 429 naming it; one closed, the next is let in", async () => {
  const { fixture } = await webServe({ streamsPerSession: 3 });
  await using _ = fixture;
  const open = () => fixture.handler.fetch(new Request("http://org.test/v1/web/updates", { headers: { accept: "text/event-stream" } }));
  const answers = await Promise.all(Array.from({ length: 12 }, open));
  const accepted = answers.filter((answer) => answer.status === 200);
  const refused = answers.filter((answer) => answer.status === 429);
  expect([accepted.length, refused.length]).toEqual([3, 9]);
  const refusal = (await refused[0]?.json()) as { error: { message: string } };
  expect(refusal.error.message).toContain("have 3 update streams open already");
  expect(refusal.error.message).toContain("serve.streamsPerSession");
  expect(refused[0]?.headers.get("retry-after")).toBe("5");
  for (const answer of refused.slice(1)) await answer.body?.cancel();
  // An accepted one is a live stream.
  const reader = accepted[0]?.body?.getReader();
  expect(new TextDecoder().decode((await reader?.read())?.value)).toContain(": listening");
  // It closes: its place is free at once, and only that one.
  await reader?.cancel();
  const next = await open();
  expect(next.status).toBe(200);
  expect((await open()).status).toBe(429);
  for (const answer of [...accepted.slice(1), next]) await answer.body?.cancel();
  const again = await Promise.all(Array.from({ length: 3 }, open));
  expect(again.map((answer) => answer.status)).toEqual([200, 200, 200]);
  for (const answer of again) await answer.body?.cancel();
});
