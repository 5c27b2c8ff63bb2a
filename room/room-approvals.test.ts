import { describe, expect, test } from "bun:test";
import { RoomApprovals } from "./room-approvals.ts";
import type { RoomEvent } from "./room-event.ts";

const call = { id: "c1", name: "sh", arguments: { cmd: "ls" } };

function approvals(options: Partial<ConstructorParameters<typeof RoomApprovals>[0]> = {}) {
  const events: RoomEvent[] = [];
  const room = new RoomApprovals({ emit: (event) => events.push(event), idPrefix: "s1", ...options });
  const asked = () => events.flatMap((event) => (event.type === "approval-asked" ? [event] : []));
  const answered = () => events.flatMap((event) => (event.type === "approval-answered" ? [event] : []));
  return { room, events, asked, answered };
}

describe("RoomApprovals", () => {
  test("a subscriber's answer wins over the console's open question, whose signal aborts; a later answer is refused", async () => {
    let consoleSignal: AbortSignal | undefined;
    const { room, asked, answered } = approvals({
      local: (_persona, _call, context) => {
        consoleSignal = context.signal;
        return new Promise(() => {});
      },
    });
    const answer = room.ask("agent", call, { replyId: "r1" });
    const id = asked()[0]?.approvalId as string;
    expect(asked()[0]).toMatchObject({ persona: "agent", replyId: "r1", call, choices: ["yes", "no", "always"] });
    expect(room.pending().map((pending) => pending.approvalId)).toEqual([id]);
    expect(room.answer(id, "no", "phone")).toEqual({ ok: true, approvalId: id, answer: "no", by: "phone" });
    expect(await answer).toBe(false);
    expect(consoleSignal?.aborted).toBe(true);
    expect(room.answer(id, "yes", "web")).toMatchObject({ ok: false, status: "answered", message: expect.stringContaining("no, by phone") });
    expect(room.answer("s1-a9-zzzz", "yes", "web")).toMatchObject({ ok: false, status: "unknown" });
    expect(answered()).toEqual([{ type: "approval-answered", approvalId: id, persona: "agent", answer: "no", by: "phone" }]);
    expect(room.pending()).toEqual([]);
  });

  test("the console's answer decides when it comes first, its reason kept", async () => {
    const { room, answered } = approvals({ local: async () => ({ denied: "this run has no terminal to ask on" }) });
    expect(await room.ask("agent", call, {})).toEqual({ denied: "this run has no terminal to ask on" });
    expect(answered()[0]).toMatchObject({ answer: "no", by: "terminal", reason: "this run has no terminal to ask on" });
  });

  test("the console's 'always' is the room's: settled always by terminal, not asked again, and the open questions it covers answered", async () => {
    const consoleAsked: string[] = [];
    const { room, asked, answered } = approvals({
      local: (_persona, question, context) => {
        consoleAsked.push(question.id);
        // The first question is answered "always"; the second, queued behind it, waits until someone else settles it.
        if (question.id === "c1") return Promise.resolve({ always: true });
        return new Promise((resolve) => context.signal.addEventListener("abort", () => resolve({ denied: "answered elsewhere" })));
      },
    });
    const queued = room.ask("agent", { ...call, id: "c2" }, {});
    const first = room.ask("agent", call, {});
    expect(await first).toBe(true);
    expect(await queued).toBe(true);
    const [queuedId, firstId] = asked().map((question) => question.approvalId);
    expect(answered()).toEqual([
      { type: "approval-answered", approvalId: firstId as string, persona: "agent", answer: "always", by: "terminal" },
      {
        type: "approval-answered",
        approvalId: queuedId as string,
        persona: "agent",
        answer: "yes",
        by: "terminal",
        reason: `covered by the "always" given to ${firstId}`,
      },
    ]);
    expect(await room.ask("agent", { ...call, id: "c3" }, {})).toBe(true);
    expect(asked()).toHaveLength(2);
    expect(consoleAsked).toEqual(["c2", "c1"]);
    // After words from outside the console's "always" is a yes for that call alone, and the next such call is asked.
    const why = "agent read the words of https://evil.example (browser) in this turn; it now asks to run sh.";
    expect(await room.ask("python", { ...call, id: "c1" }, { why })).toBe(true);
    expect(answered()[2]).toMatchObject({ persona: "python", answer: "yes", by: "terminal" });
    void room.ask("python", { ...call, id: "c4" }, {});
    expect(asked()).toHaveLength(4);
  });

  test("a room opened again on the session with its 'always' answers does not ask what they cover; a room without them does", async () => {
    const always = new Set<string>();
    const before = approvals({ local: async () => ({ always: true }), always });
    expect(await before.room.ask("agent", call, {})).toBe(true);
    const again = approvals({ local: async () => false, always });
    expect(await again.room.ask("agent", { ...call, id: "c2" }, {})).toBe(true);
    expect(again.events).toEqual([]);
    const fresh = approvals({ local: async () => false });
    expect(await fresh.room.ask("agent", { ...call, id: "c2" }, {})).toBe(false);
  });

  test("always: that persona's tool is not asked again this session; another persona's is", async () => {
    const { room, asked } = approvals({ remote: { available: () => true, timeoutMs: 60_000 } });
    const first = room.ask("agent", call, {});
    room.answer(asked()[0]?.approvalId as string, "always", "web");
    expect(await first).toBe(true);
    expect(await room.ask("agent", { ...call, id: "c2" }, {})).toBe(true);
    expect(asked()).toHaveLength(1);
    void room.ask("python", call, {});
    expect(asked()).toHaveLength(2);
  });

  test("after words from outside: asked though 'always' was given, yes or no only, and 'always' is a yes for that call alone", async () => {
    const { room, asked } = approvals({ remote: { available: () => true, timeoutMs: 60_000 } });
    const first = room.ask("agent", call, {});
    room.answer(asked()[0]?.approvalId as string, "always", "web");
    expect(await first).toBe(true);
    const why = "agent read the words of https://evil.example (browser) in this turn; it now asks to run sh.";
    const after = room.ask("agent", { ...call, id: "c2" }, { why });
    expect(asked()[1]).toMatchObject({ why, choices: ["yes", "no"] });
    expect(room.answer(asked()[1]?.approvalId as string, "always", "web")).toMatchObject({ ok: true, answer: "yes" });
    expect(await after).toBe(true);
    void room.ask("agent", { ...call, id: "c3" }, { why });
    expect(asked()).toHaveLength(3);
  });

  test("without the console: asked only while someone could answer; unanswered, it times out; a stopped turn answers it", async () => {
    let watching = false;
    const { room, answered } = approvals({ remote: { available: () => watching, timeoutMs: 30 } });
    expect(room.canAsk()).toBe(false);
    watching = true;
    expect(room.canAsk()).toBe(true);
    expect(await room.ask("agent", call, {})).toEqual({ denied: "nobody answered the approval question within 30 ms" });
    expect(answered()[0]).toMatchObject({ answer: "timeout", by: "room" });
    const stop = new AbortController();
    const stopped = room.ask("agent", call, { signal: stop.signal });
    stop.abort();
    expect(await stopped).toEqual({ denied: "the turn was stopped before anyone answered" });
    expect(answered()[1]).toMatchObject({ answer: "stopped" });
  });
});
