import { expect, test } from "bun:test";
import type { TranscriptLine } from "../room/transcript-line.ts";
import { foldTranscriptLines, prependOlder } from "./room-pages.ts";
import type { RoomState } from "./room-state.ts";

const time = "2026-11-26T12:00:00.000Z";
const stats = { replies: 1, promptTokens: 1, completionTokens: 2, tokensPerSecond: 2, firstTokenMs: 1, queuedMs: 0, durationMs: 1 };
const call = { id: "c1", name: "sh", arguments: { cmd: "ls" } };

/** One turn's lines: a reply with text, a question asked (answered in `answerIn`, a later turn, or never), a note after. */
function turn(index: number, asks?: string): TranscriptLine[] {
  const turnId = `t${index}`;
  const replyId = `${turnId}-agent`;
  return [
    { type: "turn-start", turnId, text: `question ${index}`, mode: "group", addressed: ["agent"], time },
    { type: "reply-start", turnId, replyId, persona: "agent", model: "m", hop: 0, destination: "console", time },
    { type: "text-delta", replyId, persona: "agent", text: `answer ${index}`, time },
    ...(asks
      ? [{ type: "approval-asked" as const, approvalId: asks, persona: "agent", replyId, call, choices: ["yes" as const, "no" as const], time }]
      : []),
    { type: "reply-end", replyId, persona: "agent", ok: true, stats, time },
    { type: "turn-end", turnId, ok: true, stats: { agent: stats }, time },
    { type: "notice", reason: "tools-changed", message: `after turn ${index}`, time },
  ];
}

/** What the view draws of a state, but for the answer to question a2. */
const drawn = (state: RoomState) => ({
  notes: state.notes,
  turns: state.turns.map((entry) => ({
    id: entry.turnId,
    text: entry.text,
    notes: entry.notes,
    done: entry.done,
    replies: entry.replies.map((reply) =>
      reply.parts.map((part) =>
        part.kind === "approval" && part.approval.approvalId === "a2" ? { kind: part.kind, approval: part.approval } : part,
      ),
    ),
  })),
  a1: state.approvals.get("a1")?.answer,
});

test("pages of whole turns folded and put before one another draw what the whole transcript folded at once draws", () => {
  const answered: TranscriptLine = { type: "approval-answered", approvalId: "a1", persona: "agent", answer: "yes", by: "phone", time };
  const pages: TranscriptLine[][] = [
    [{ type: "notice", reason: "tools-changed", message: "before any turn", time }, ...turn(0), ...turn(1, "a1")],
    [...turn(2, "a2"), ...turn(3)],
    [...turn(4), answered, ...turn(5)],
  ];
  const whole = foldTranscriptLines(pages.flat(), ["agent"]);
  const paged = foldTranscriptLines(pages[2] ?? [], ["agent"]);
  prependOlder(paged, foldTranscriptLines(pages[1] ?? []));
  prependOlder(paged, foldTranscriptLines(pages[0] ?? []));
  expect(drawn(paged)).toEqual(drawn(whole));
  expect(drawn(paged).a1).toBe("yes");
  // a2 was never answered and the room lists nothing waiting: in the pages it is no longer asked, not open.
  expect(whole.approvals.get("a2")?.answer).toBeUndefined();
  expect(paged.approvals.get("a2")?.answer).toBe("no longer asked");
  expect(paged.turns.map((entry) => entry.turnId)).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
  expect(paged.notes).toEqual([{ kind: "notice", text: "before any turn" }]);
});
