import { expect, test } from "bun:test";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { loadOrgConfig } from "../config/org-config.ts";
import { createPersona } from "../personas/create-persona.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import { ToolTimeBudget } from "../security/tool-time-budget.ts";
import { replyScheduler, type Turn } from "./reply-scheduler.ts";
import { TurnOutsideWords } from "./outside-words.ts";
import type { RoomEvent } from "./room-event.ts";
import type { ReplyRoom } from "./run-reply.ts";
import { scriptedModel } from "../llm/scripted-model.ts";

function scheduler() {
  const config = loadOrgConfig(join(tmpdir(), "no-such-dir", "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "qwen3:8b" });
  config.limits.hopsPerMessage = 2;
  config.limits.repliesInARow = 1;
  const byName = new Map(config.personas.map((persona) => [persona.name, createPersona(persona, scriptedModel([]))]));
  const events: RoomEvent[] = [];
  // No reply runs in these cases: the limits stop them first, so the room a reply would need is never asked.
  const { schedule } = replyScheduler({ config, byName, builtins: new Map(), replyRoom: {} as ReplyRoom, emit: (event) => events.push(event) });
  const turn: Turn = {
    turnId: "t",
    signal: AbortSignal.timeout(10_000),
    repliesBy: new Map(),
    pending: new Set(),
    stats: {},
    messages: [],
    errors: [],
    toolTime: new ToolTimeBudget(60),
    incomplete: [],
    outsideWords: new TurnOutsideWords(),
  };
  const trigger: RoomMessage = {
    id: "m",
    turnId: "t",
    from: "agent",
    text: "@python hi",
    time: "2026-11-23T00:00:00Z",
    heardBy: ["python"],
    addressed: ["python"],
  };
  return { schedule, events, turn, trigger };
}

test("a hop past limits.hopsPerMessage is not scheduled; the notice says why", () => {
  const { schedule, events, turn, trigger } = scheduler();
  schedule(turn, "python", 3, trigger);
  expect(turn.pending.size).toBe(0);
  expect(events).toEqual([expect.objectContaining({ type: "notice", persona: "python", reason: "hop-limit" })]);
});

test("a persona that already replied limits.repliesInARow times waits for the user", () => {
  const { schedule, events, turn, trigger } = scheduler();
  turn.repliesBy.set("python", 1);
  schedule(turn, "python", 1, trigger);
  expect(turn.pending.size).toBe(0);
  expect(events).toEqual([expect.objectContaining({ type: "notice", reason: "replies-in-a-row" })]);
});
