import { expect, test } from "bun:test";
import { ReplyInterleaver } from "./reply-interleaver.ts";

const stats = { replies: 1, promptTokens: 1, completionTokens: 1, tokensPerSecond: 1, firstTokenMs: null, queuedMs: 0, durationMs: 1 };
const start = (replyId: string, persona: string) =>
  ({ type: "reply-start", turnId: "t1", replyId, persona, model: "m", hop: 0, destination: "console" }) as const;
const delta = (replyId: string, persona: string, text: string) => ({ type: "text-delta", replyId, persona, text }) as const;
const end = (replyId: string, persona: string) => ({ type: "reply-end", replyId, persona, ok: true, stats }) as const;

test("the group: the live reply streams, one beside it is held and follows whole, each block named", () => {
  const shown: string[] = [];
  const replies = new ReplyInterleaver(undefined, (content) => shown.push(content));
  replies.onEvent(start("r1", "agent"));
  replies.onEvent(start("r2", "python"));
  replies.onEvent(delta("r2", "python", "held "));
  replies.onEvent(delta("r1", "agent", "  first"));
  replies.onEvent(delta("r2", "python", "back"));
  replies.onEvent(delta("r1", "agent", " part"));
  expect(shown).toEqual(["agent: first", " part"]);
  replies.onEvent(end("r1", "agent"));
  expect(shown).toEqual(["agent: first", " part", "\n\npython: held back"]);
  expect(replies.blocks).toBe(2);
});

test("direct mode: another persona's reply is not the answer; a broken-off reply says so; endAll flushes", () => {
  const shown: string[] = [];
  const replies = new ReplyInterleaver("agent", (content) => shown.push(content));
  replies.onEvent(start("r1", "python"));
  replies.onEvent(delta("r1", "python", "not mine"));
  replies.onEvent(start("r2", "agent"));
  replies.onEvent(delta("r2", "agent", "   "));
  expect(shown).toEqual([]);
  replies.onEvent(delta("r2", "agent", "mine"));
  replies.onEvent({ type: "error", replyId: "r2", persona: "agent", message: "cut", kind: "network" });
  replies.endAll();
  expect(shown).toEqual(["mine", "\n\n(the reply broke off: cut)"]);
  expect(replies.blocks).toBe(1);
});
