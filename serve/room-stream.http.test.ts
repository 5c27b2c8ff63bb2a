import { afterAll, describe, expect, test } from "bun:test";
import type { RoomEvent } from "../room/room-event.ts";
import type { RoomStreamFrame } from "../room/room-stream-frame.ts";
import { numbered, watchStream } from "../testing/room-stream-client.ts";
import { post, type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { sessionApiSchemas } from "./session-api.ts";
import { type RunningServe, startServe } from "./start-serve.ts";
import { waitUntil } from "../testing/wait-until.ts";

// The room's one stream over real sockets on 127.0.0.1 (issue 54, item 8): watchers of a session's
// `/v1/sessions/:id/events`, messages that start turns without holding a stream, approvals answered over HTTP.
const checkout = tempGitRepo("org-room-stream-");
afterAll(() => checkout[Symbol.dispose]());
const TOKEN = "room-stream-token-5";
const AUTH = { authorization: `Bearer ${TOKEN}` };

type Served = { fixture: ServeFixture; server: RunningServe; [Symbol.asyncDispose](): Promise<void> };

/** serve on a real socket with `script`; agent's sh asks first (so approvals are asked of the watchers). */
async function served(script: ScriptInput, more: { concurrency?: number; streamHold?: { maxEvents?: number } } = {}): Promise<Served> {
  const fixture = await serveFixture({
    script,
    checkoutDir: checkout.dir,
    apiToken: TOKEN,
    ...(more.concurrency ? { concurrency: more.concurrency } : {}),
    handlerOptions: more.streamHold ? { streamHold: more.streamHold } : {},
  });
  fixture.config.personas = fixture.config.personas.map((persona) =>
    persona.name === "agent" ? { ...persona, tools: { ...persona.tools, sh: "ask" } } : persona,
  );
  const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
  return {
    fixture,
    server,
    async [Symbol.asyncDispose]() {
      await server.stop(true);
      await fixture[Symbol.asyncDispose]();
    },
  };
}

async function postJson(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(post(`${base}${path}`, body, AUTH));
}

/** A new session in `mode`, its id. */
async function newSession(base: string, mode: string): Promise<string> {
  const response = await postJson(base, "/v1/sessions", { mode });
  expect(response.status).toBe(201);
  return ((await response.json()) as { session: string }).session;
}

/** Sends a message to a session: the turn starts, and the answer names it at once. */
async function send(base: string, session: string, text: string): Promise<string> {
  const response = await postJson(base, `/v1/sessions/${session}/messages`, { text });
  expect(response.status).toBe(202);
  return sessionApiSchemas().SessionMessageAccepted.parse(await response.json()).turnId;
}

const isEvent =
  <T extends RoomEvent["type"]>(type: T, more: (event: Extract<RoomEvent, { type: T }>) => boolean = () => true) =>
  (frame: RoomStreamFrame) =>
    frame.kind === "event" && frame.event.type === type && more(frame.event as Extract<RoomEvent, { type: T }>);

/** The seqs a watcher got, strictly increasing, none twice. */
function expectIncreasing(frames: readonly RoomStreamFrame[]): void {
  const seqs = frames.filter((frame) => frame.kind === "event").map((frame) => frame.seq);
  for (let index = 1; index < seqs.length; index += 1) expect(seqs[index] as number).toBeGreaterThan(seqs[index - 1] as number);
}

const STREAMING: ScriptInput = {
  rules: [
    {
      when: { persona: "agent" },
      reply: { text: "Agent writes a long and careful answer, word by word, for the watchers.", chunkSize: 3, delayMs: 4 },
    },
    {
      when: { persona: "python" },
      reply: { text: "Python answers beside agent, at the very same time, in its own lane.", chunkSize: 3, delayMs: 4 },
    },
    { when: { persona: "toolsmith" }, reply: { text: "No tool needed." } },
  ],
};

describe("a session's room-wide stream over a real socket", () => {
  test("two watchers see the same numbered events; two personas' deltas interleave in it; the transcript holds them", async () => {
    await using serve = await served(STREAMING, { concurrency: 3 });
    const base = serve.server.url;
    const session = await newSession(base, "group");
    const first = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    const second = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    const turnId = await send(base, session, "both of you, please");
    for (const watcher of [first, second])
      await watcher.waitFor(
        isEvent("turn-end", (event) => event.turnId === turnId),
        "turn-end",
      );
    expect(numbered(second.frames)).toEqual(numbered(first.frames));
    expect(second.frames).toEqual(first.frames);
    expectIncreasing(first.frames);
    const types = numbered(first.frames).map((frame) => frame.type);
    expect(types[0]).toBe("turn-start");
    expect(types.at(-1)).toBe("turn-end");

    // Both lanes streamed at once: each persona's deltas began before the other's ended.
    const deltas = first.frames.flatMap((frame, index) =>
      frame.kind === "event" && frame.event.type === "text-delta" ? [{ index, persona: frame.event.persona }] : [],
    );
    const span = (persona: string) => {
      const at = deltas.filter((delta) => delta.persona === persona).map((delta) => delta.index);
      return { first: Math.min(...at), last: Math.max(...at), count: at.length };
    };
    const agent = span("agent");
    const python = span("python");
    expect(agent.count).toBeGreaterThan(5);
    expect(python.count).toBeGreaterThan(5);
    expect(agent.first).toBeLessThan(python.last);
    expect(python.first).toBeLessThan(agent.last);
    const stats = first.frames.flatMap((frame) => (frame.kind === "event" && frame.event.type === "reply-end" ? [frame.event.stats] : []));
    expect(stats.length).toBe(3);
    for (const stat of stats)
      expect(stat).toMatchObject({ completionTokens: expect.any(Number), tokensPerSecond: expect.any(Number), durationMs: expect.any(Number) });

    // The transcript a reloading page reads holds every event up to its seq: the turn, and each reply's whole text.
    const opened = sessionApiSchemas().SessionTranscript.parse(await (await fetch(`${base}/v1/sessions/${session}`, { headers: AUTH })).json());
    // Each persona's window as its next prompt would be assembled: the scripted server says none, so org's stated default.
    expect(opened.personas.map((persona) => [persona.name, persona.window?.tokens, persona.window?.source])).toEqual([
      ["agent", 4096, "default"],
      ["python", 4096, "default"],
      ["toolsmith", 4096, "default"],
    ]);
    expect(opened.seq).toBe(first.frames.at(-1)?.seq as number);
    const replies = opened.lines.flatMap((line) => (line.type === "message" && line.message.from !== "user" ? [line.message.text] : []));
    expect(replies.sort()).toEqual([
      "Agent writes a long and careful answer, word by word, for the watchers.",
      "No tool needed.",
      "Python answers beside agent, at the very same time, in its own lane.",
    ]);
    first.drop();
    second.drop();
  });

  test("a watcher that drops mid-reply and comes back with Last-Event-ID gets exactly what it missed, then the live events", async () => {
    // The reply stops twice on an approval question, so where the watcher drops and comes back does not hang on timing.
    const script: ScriptInput = {
      rules: [
        {
          when: { persona: "agent", lastRole: "tool", times: 1 },
          reply: { text: "Now the second.", toolCalls: [{ name: "sh", arguments: { cmd: "echo two" } }] },
        },
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "Both ran: {{lastMessage}}", chunkSize: 2 } },
        {
          when: { persona: "agent" },
          reply: { text: "First I look around.", chunkSize: 2, toolCalls: [{ name: "sh", arguments: { cmd: "echo one" } }] },
        },
      ],
    };
    await using serve = await served(script);
    const base = serve.server.url;
    const session = await newSession(base, "direct:agent");
    const steady = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    const leaving = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    const turnId = await send(base, session, "run two commands");
    const firstQuestion = await leaving.waitFor(isEvent("approval-asked"), "the first approval-asked");
    // Mid-reply: the text streamed, the first call waits. The watcher goes away.
    leaving.drop();
    await leaving.ended;
    const seen = leaving.frames.at(-1)?.seq as number;
    expect(seen).toBe(firstQuestion.seq);
    const firstId = firstQuestion.kind === "event" && firstQuestion.event.type === "approval-asked" ? firstQuestion.event.approvalId : "";
    expect((await postJson(base, `/v1/sessions/${session}/approvals/${firstId}`, { answer: "yes", by: "web" })).status).toBe(200);
    const secondQuestion = await steady.waitFor(
      isEvent("approval-asked", (event) => event.approvalId !== firstId),
      "the second approval-asked",
    );

    const back = await watchStream(`${base}/v1/sessions/${session}/events`, { ...AUTH, "last-event-id": String(seen) });
    await back.waitFor((frame) => frame.seq === secondQuestion.seq, "the replayed second question");
    // What it missed, and nothing before: exactly the steady watcher's frames after `seen`.
    const missed = steady.frames.filter((frame) => frame.seq > seen);
    expect(back.frames).toEqual(missed);
    const replayed = back.frames.length;
    const secondId = secondQuestion.kind === "event" && secondQuestion.event.type === "approval-asked" ? secondQuestion.event.approvalId : "";
    expect((await postJson(base, `/v1/sessions/${session}/approvals/${secondId}`, { answer: "yes" })).status).toBe(200);
    await back.waitFor(
      isEvent("turn-end", (event) => event.turnId === turnId),
      "turn-end",
      { from: replayed },
    );
    await steady.waitFor(isEvent("turn-end"), "turn-end");
    // Then the live events: together, the two connections saw the steady watcher's stream exactly, none twice.
    expect([...leaving.frames, ...back.frames]).toEqual(steady.frames);
    expect(back.frames.length).toBeGreaterThan(replayed);
    expectIncreasing([...leaving.frames, ...back.frames]);
    const answered = steady.frames.flatMap((frame) => (frame.kind === "event" && frame.event.type === "approval-answered" ? [frame.event] : []));
    expect(answered.map((event) => [event.answer, event.by])).toEqual([
      ["yes", "web"],
      ["yes", "http"],
    ]);
    // ?after= works as the header does, and a number beyond the stream is not taken for one of its own.
    const viaQuery = await watchStream(`${base}/v1/sessions/${session}/events?after=${seen}`, AUTH);
    await viaQuery.waitFor(isEvent("turn-end"), "turn-end");
    expect(viaQuery.frames).toEqual(steady.frames.filter((frame) => frame.seq > seen));
    const ahead = await watchStream(`${base}/v1/sessions/${session}/events?after=${(steady.frames.at(-1)?.seq as number) + 5}`, AUTH);
    expect(await ahead.waitFor((frame) => frame.kind === "reset", "a reset")).toMatchObject({ kind: "reset", reason: "unknown" });
    for (const watcher of [steady, back, viaQuery, ahead]) watcher.drop();
  });

  test("a session opens at its newest turns; older turns come page by page; a tail read mid-reply meets the stream exactly", async () => {
    const before = "The first words, then a command that waits for a yes,";
    const after = "and after the command, the rest of the reply.";
    await using serve = await served({
      rules: [
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: after, chunkSize: 3 } },
        {
          when: { persona: "agent", lastMessage: "wait" },
          reply: { text: before, chunkSize: 3, toolCalls: [{ name: "sh", arguments: { cmd: "true" } }] },
        },
        { when: { persona: "agent" }, reply: { text: "noted: {{lastMessage}}" } },
      ],
    });
    const base = serve.server.url;
    const session = await newSession(base, "direct:agent");
    const watcher = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    for (let turn = 0; turn < 7; turn += 1) {
      const turnId = await send(base, session, `turn number ${turn}`);
      await watcher.waitFor(
        isEvent("turn-end", (event) => event.turnId === turnId),
        `turn ${turn}'s end`,
      );
    }
    const open = async (query: string) =>
      sessionApiSchemas().SessionTranscript.parse(await (await fetch(`${base}/v1/sessions/${session}${query}`, { headers: AUTH })).json());
    const whole = await open("?limit=1000");
    expect(whole.before).toBeNull();
    const tail = await open("?limit=3");
    // 3 messages are a turn and a half: the tail goes back to the start of the second turn from the end.
    expect(tail.lines[0]).toMatchObject({ type: "turn-start", text: "turn number 5" });
    expect(tail.lines.filter((line) => line.type === "message")).toHaveLength(4);
    expect(tail.seq).toBe(whole.seq);
    const pages = [tail.lines];
    for (let before = tail.before; before !== null; ) {
      const page = sessionApiSchemas().SessionTranscriptPage.parse(
        await (await fetch(`${base}/v1/sessions/${session}/transcript?before=${before}&limit=3`, { headers: AUTH })).json(),
      );
      pages.unshift(page.lines);
      before = page.before;
    }
    expect(pages.flat()).toEqual(whole.lines);
    for (const bad of ["abc", "-1", String(Number(tail.before) + 1)]) {
      const refused = await fetch(`${base}/v1/sessions/${session}/transcript?before=${bad}`, { headers: AUTH });
      expect(refused.status).toBe(400);
    }

    // Opened while a reply waits in the middle (a question): the tail's text and the stream's after its seq make it once.
    const turnId = await send(base, session, "wait for me");
    const asked = await watcher.waitFor(isEvent("approval-asked"), "the question mid-reply");
    const middle = await open("?limit=2");
    expect(middle.pendingApprovals.map((approval) => approval.approvalId)).toEqual([
      asked.kind === "event" && asked.event.type === "approval-asked" ? asked.event.approvalId : "",
    ]);
    const late = await watchStream(`${base}/v1/sessions/${session}/events?after=${middle.seq}`, AUTH);
    const [question] = middle.pendingApprovals;
    expect((await postJson(base, `/v1/sessions/${session}/approvals/${question?.approvalId}`, { answer: "yes" })).status).toBe(200);
    await late.waitFor(
      isEvent("turn-end", (event) => event.turnId === turnId),
      "the turn's end",
    );
    const start = middle.lines.findIndex((line) => line.type === "turn-start" && line.turnId === turnId);
    const read = middle.lines.slice(start).flatMap((line) => (line.type === "text-delta" ? [line.text] : []));
    const streamed = late.frames.flatMap((frame) => (frame.kind === "event" && frame.event.type === "text-delta" ? [frame.event.text] : []));
    expect(read.join("")).toBe(before);
    expect([...read, ...streamed].join("")).toBe(`${before}\n\n${after}`);
    expect(late.frames.every((frame) => frame.seq > middle.seq)).toBe(true);
    watcher.drop();
    late.drop();
  });

  test("a watcher whose gap is beyond what the stream holds gets a reset, then the live events; the transcript fills the gap", async () => {
    await using serve = await served(
      { rules: [{ reply: { text: "a reply long enough to push the early events out of the stream", chunkSize: 2 } }] },
      { streamHold: { maxEvents: 8 } },
    );
    const base = serve.server.url;
    const session = await newSession(base, "direct:agent");
    const steady = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    await send(base, session, "first");
    await steady.waitFor(isEvent("turn-end"), "the first turn-end");
    const early = steady.frames[1]?.seq as number;
    const late = await watchStream(`${base}/v1/sessions/${session}/events`, { ...AUTH, "last-event-id": String(early) });
    const reset = await late.waitFor((frame) => frame.kind === "reset", "a reset");
    expect(reset).toMatchObject({ kind: "reset", reason: "gap", seq: steady.frames.at(-1)?.seq as number });
    expect(late.frames).toEqual([reset]);
    // The reload: the transcript holds every event up to the reset's number, and the live events follow it.
    const opened = sessionApiSchemas().SessionTranscript.parse(await (await fetch(`${base}/v1/sessions/${session}`, { headers: AUTH })).json());
    expect(opened.seq).toBe(reset.seq);
    expect(opened.lines.filter((line) => line.type === "turn-end")).toHaveLength(1);
    const turnId = await send(base, session, "second");
    // Each connection reads at its own pace: both must have the turn's end before their frames are compared.
    for (const watcher of [late, steady])
      await watcher.waitFor(
        isEvent("turn-end", (event) => event.turnId === turnId),
        "the second turn-end",
      );
    expect(late.frames.slice(1)).toEqual(steady.frames.filter((frame) => frame.seq > reset.seq));
    steady.drop();
    late.drop();
  });

  test("an approval answered over HTTP runs the persona's call; a second answer is refused; without watchers ask is denied", async () => {
    const script: ScriptInput = {
      rules: [
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "It said: {{lastMessage}}" } },
        { when: { persona: "agent" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo approved-run" } }] } },
      ],
    };
    await using serve = await served(script);
    const base = serve.server.url;
    const session = await newSession(base, "direct:agent");
    const watcher = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    await send(base, session, "run it");
    const asked = await watcher.waitFor(isEvent("approval-asked"), "approval-asked");
    const question = asked.kind === "event" && asked.event.type === "approval-asked" ? asked.event : undefined;
    expect(question).toMatchObject({
      persona: "agent",
      call: { name: "sh", arguments: { cmd: "echo approved-run" } },
      choices: ["yes", "no", "always"],
    });
    const opened = sessionApiSchemas().SessionTranscript.parse(await (await fetch(`${base}/v1/sessions/${session}`, { headers: AUTH })).json());
    expect(opened.running).toBe(true);
    expect(opened.pendingApprovals.map((pending) => pending.approvalId)).toEqual([question?.approvalId as string]);
    // A message while the turn runs is refused, not queued behind it.
    expect((await postJson(base, `/v1/sessions/${session}/messages`, { text: "another" })).status).toBe(409);

    const path = `/v1/sessions/${session}/approvals/${question?.approvalId}`;
    const [one, two] = await Promise.all([postJson(base, path, { answer: "yes", by: "phone" }), postJson(base, path, { answer: "no", by: "web" })]);
    expect([one.status, two.status].sort()).toEqual([200, 409]);
    const refused = one.status === 409 ? one : two;
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/already answered: (yes, by phone|no, by web)/);
    const result = await watcher.waitFor(isEvent("tool-result"), "tool-result");
    const answered = watcher.frames.find(isEvent("approval-answered"));
    if (answered?.kind === "event" && answered.event.type === "approval-answered" && answered.event.answer === "yes") {
      expect(result).toMatchObject({ event: { ok: true, output: expect.stringContaining("approved-run") } });
    } else expect(result).toMatchObject({ event: { ok: false } });
    await watcher.waitFor(isEvent("turn-end"), "turn-end");
    expect((await postJson(base, `/v1/sessions/${session}/approvals/nope-1`, { answer: "yes" })).status).toBe(404);
    watcher.drop();
    await watcher.ended;

    // Nobody watching: the call is denied at once, as before, and the room says why.
    await waitUntil("the server to see the watcher gone", () => serve.fixture.handler.sessions.watchers(session) === 0);
    const alone = await fetch(post(`${base}/v1/messages`, { text: "run it", session }, AUTH));
    const text = await alone.text();
    expect(text).toContain("nobody can approve here");
    expect(text).not.toContain('"approval-asked"');
  });

  test("stop ends the running replies and answers their open question; 401 without the token; unknown sessions are 404", async () => {
    const script: ScriptInput = { rules: [{ when: { persona: "agent" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo never" } }] } }] };
    await using serve = await served(script);
    const base = serve.server.url;
    const session = await newSession(base, "direct:agent");
    const watcher = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    await send(base, session, "run it");
    await watcher.waitFor(isEvent("approval-asked"), "approval-asked");
    const stopped = await postJson(base, `/v1/sessions/${session}/stop`, {});
    expect(await stopped.json()).toEqual({ session, stopped: 1 });
    await watcher.waitFor(isEvent("turn-end"), "turn-end");
    expect(watcher.frames.find(isEvent("approval-answered"))).toMatchObject({ event: { answer: "stopped" } });
    watcher.drop();

    expect((await fetch(`${base}/v1/sessions`)).status).toBe(401);
    expect((await fetch(`${base}/v1/sessions/${session}/events`)).status).toBe(401);
    expect((await fetch(`${base}/v1/sessions/no-such-session/events`, { headers: AUTH })).status).toBe(404);
    expect((await fetch(`${base}/v1/sessions/..%2F..%2Fetc/events`, { headers: AUTH })).status).toBe(404);
    expect((await fetch(`${base}/v1/sessions/${session}/events?after=abc`, { headers: AUTH })).status).toBe(400);
    const list = (await (await fetch(`${base}/v1/sessions`, { headers: AUTH })).json()) as {
      sessions: { id: string; title: string; open: boolean }[];
    };
    expect(list.sessions[0]).toMatchObject({ id: session, title: "run it", open: true });
  });
});
