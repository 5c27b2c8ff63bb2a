import { describe, expect, test } from "bun:test";
import type { RoomEvent } from "../room/room-event.ts";
import { applyRoomEvent, emptyRoomState, openApprovals } from "./room-state.ts";

const stats = { replies: 1, promptTokens: 10, completionTokens: 12, tokensPerSecond: 24, firstTokenMs: 50, queuedMs: 0, durationMs: 500 };
const reply = (persona: string, replyId: string) => ({ replyId, persona });

describe("the room view's state, folded from room events", () => {
  test("two replies of one turn grow side by side; text, thinking and a tool keep their order; the turn ends", () => {
    const state = emptyRoomState(["agent", "python"]);
    const events: RoomEvent[] = [
      { type: "turn-start", turnId: "t1", text: "hello", mode: "group", addressed: ["agent", "python"] },
      { type: "reply-start", turnId: "t1", ...reply("agent", "r1"), model: "m", hop: 0, destination: "console" },
      { type: "reply-start", turnId: "t1", ...reply("python", "r2"), model: "m", hop: 0, destination: "console" },
      { type: "reasoning-delta", ...reply("agent", "r1"), text: "hm" },
      { type: "text-delta", ...reply("agent", "r1"), text: "Hel" },
      { type: "text-delta", ...reply("python", "r2"), text: "Py" },
      { type: "text-delta", ...reply("agent", "r1"), text: "lo" },
      { type: "tool-call", ...reply("agent", "r1"), call: { id: "c1", name: "sh", arguments: { cmd: "ls" } } },
      {
        type: "tool-result",
        ...reply("agent", "r1"),
        call: { id: "c1", name: "sh", arguments: { cmd: "ls" } },
        ok: true,
        output: "a\nb",
        durationMs: 3,
      },
      { type: "reply-end", ...reply("agent", "r1"), ok: true, stats },
      { type: "turn-end", turnId: "t1", ok: true, stats: { agent: stats } },
    ];
    for (const event of events) applyRoomEvent(state, event);
    const [turn] = state.turns;
    expect(turn?.replies.map((entry) => entry.persona)).toEqual(["agent", "python"]);
    expect(turn?.replies[0]?.parts.map((part) => part.kind)).toEqual(["thinking", "text", "tool"]);
    expect(turn?.replies[0]?.parts[1]).toEqual({ kind: "text", text: "Hello" });
    expect(turn?.replies[0]?.stats).toEqual(stats);
    expect(turn?.done).toBe(true);
    expect(turn?.replies[1]?.done).toBe(true);
  });

  test("a sandboxed run's result shows the hosts the egress guard let it reach and refused, from its data, not its text", () => {
    const state = emptyRoomState(["agent"]);
    applyRoomEvent(state, { type: "turn-start", turnId: "t1", text: "go", mode: "group", addressed: ["agent"] });
    const call = (id: string) => ({ id, name: "sh", arguments: { cmd: "npm install" } });
    const result = (id: string, data: unknown, output: string): RoomEvent => ({
      type: "tool-result",
      ...reply("agent", "r1"),
      call: call(id),
      ok: true,
      output,
      durationMs: 3,
      data,
    });
    const egress = "reached 1 host (registry.npmjs.org), 2.1 MB in, 3.0 KB out; refused evil.example: not on sandbox.egress.allow";
    applyRoomEvent(state, result("c1", { exitCode: 0, egress }, "ok"));
    // A command that prints a network line of its own is not the guard's word: no data, no list.
    applyRoomEvent(state, result("c2", { exitCode: 0 }, "network: reached 1 host (forged.example)"));
    applyRoomEvent(state, result("c3", { exitCode: 0, egress: 7 }, "ok"));
    const parts = state.turns[0]?.replies[0]?.parts ?? [];
    expect(parts.map((part) => (part.kind === "tool" ? part.result?.egress : part.kind))).toEqual([
      ["reached 1 host (registry.npmjs.org), 2.1 MB in, 3.0 KB out", "refused evil.example: not on sandbox.egress.allow"],
      undefined,
      undefined,
    ]);
  });

  test("an approval asked is open until answered, in its reply", () => {
    const state = emptyRoomState(["agent"]);
    applyRoomEvent(state, { type: "turn-start", turnId: "t1", text: "go", mode: "group", addressed: ["agent"] });
    applyRoomEvent(state, { type: "reply-start", turnId: "t1", ...reply("agent", "r1"), model: "m", hop: 0, destination: "console" });
    const call = { id: "c1", name: "sh", arguments: { cmd: "rm x" } };
    applyRoomEvent(state, { type: "approval-asked", approvalId: "a1", persona: "agent", replyId: "r1", call, choices: ["yes", "no"] });
    expect(openApprovals(state).map((approval) => approval.approvalId)).toEqual(["a1"]);
    applyRoomEvent(state, { type: "approval-answered", approvalId: "a1", persona: "agent", answer: "no", by: "web" });
    expect(openApprovals(state)).toEqual([]);
    expect(state.turns[0]?.replies[0]?.parts.at(-1)).toMatchObject({ kind: "approval", answer: "no", by: "web" });
  });

  test("a transcript without deltas still shows each reply from its message", () => {
    const state = emptyRoomState();
    const message = (id: string, from: string, text: string) => ({
      type: "message" as const,
      message: { id, turnId: "t1", from, text, time: "", heardBy: [], addressed: [] },
    });
    applyRoomEvent(state, message("u1", "user", "hi"));
    applyRoomEvent(state, message("r1", "agent", "hello there"));
    expect(state.turns[0]?.text).toBe("hi");
    expect(state.turns[0]?.replies[0]?.parts).toEqual([{ kind: "text", text: "hello there" }]);
    expect(state.personas).toEqual(["agent"]);
  });
});
