import { expect, test } from "bun:test";
import { replyReportSchemas } from "./reply-report.ts";
import { toReplyReport } from "./respond-with-tools.ts";

const call = { id: "c1", name: "sh", arguments: {} };

test("loop events with the same shape pass as they are; the result is flattened; usage is no report", () => {
  const delta = { type: "text-delta" as const, text: "x" };
  expect(toReplyReport(delta)).toBe(delta);
  expect(toReplyReport({ type: "tool-result", call, result: { ok: true, output: "out", exitCode: 0 }, durationMs: 3 })).toEqual({
    type: "tool-result",
    call,
    ok: true,
    output: "out",
    exitCode: 0,
    durationMs: 3,
  });
  expect(toReplyReport({ type: "round-start", round: 2 })).toEqual({ type: "waiting" });
  expect(toReplyReport({ type: "calls-refused", count: 4, message: "m" })).toEqual({ type: "calls-refused", message: "m" });
  expect(toReplyReport({ type: "finish", finishReason: "stop", usage: { promptTokens: 1, completionTokens: 1 } })).toBeUndefined();
  expect(toReplyReport({ type: "response-start", status: 200 })).toBeUndefined();
});

test("every report it makes is a valid ReplyReport", () => {
  const events = [
    { type: "reasoning-delta" as const, text: "r" },
    { type: "tool-call" as const, call },
    { type: "loop-stop" as const, reason: "repeated-call" as const, message: "m" },
    { type: "tool-result" as const, call, result: { ok: false, output: "e", data: { a: 1 } }, durationMs: 0 },
  ];
  for (const event of events) expect(replyReportSchemas().ReplyReport.safeParse(toReplyReport(event)).success).toBe(true);
});
