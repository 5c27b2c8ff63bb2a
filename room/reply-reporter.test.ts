import { expect, test } from "bun:test";
import { replyReporter } from "./reply-reporter.ts";
import { ReplyStatsRecorder } from "./reply-stats.ts";
import type { RoomEvent } from "./room-event.ts";

const call = { id: "c1", name: "sh", arguments: { command: "ls" } };

test("reports are stamped with reply and persona; text and tool runs are kept for the message", () => {
  const events: RoomEvent[] = [];
  const stats = new ReplyStatsRecorder();
  const { report, record } = replyReporter({ replyId: "r1", persona: "agent", server: "http://127.0.0.1:1" }, stats, (event) => events.push(event));
  report({ type: "waiting" });
  report({ type: "text-delta", text: "hi " });
  report({ type: "waiting" });
  report({ type: "tool-call", call });
  report({ type: "tool-result", call, ok: false, output: "no", exitCode: 1, durationMs: 5 });
  report({ type: "text-delta", text: "there" });
  expect(events).toEqual([
    { type: "waiting", replyId: "r1", persona: "agent", reason: "first-token", baseUrl: "http://127.0.0.1:1" },
    { type: "text-delta", text: "hi ", replyId: "r1", persona: "agent" },
    { type: "tool-call", call, replyId: "r1", persona: "agent" },
    { type: "tool-result", call, ok: false, output: "no", exitCode: 1, durationMs: 5, replyId: "r1", persona: "agent" },
    { type: "text-delta", text: "there", replyId: "r1", persona: "agent" },
  ]);
  expect(record).toEqual({ streamed: "hi there", toolRuns: [{ call, ok: false, output: "no" }], lastSandboxedFailed: true });
  expect(stats.visible).toBe(true);
});

test("a stopped loop and refused calls become notices; a result without an exit code leaves the sandbox verdict", () => {
  const events: RoomEvent[] = [];
  const { report, record } = replyReporter({ replyId: "r2", persona: "py", server: "u" }, new ReplyStatsRecorder(), (event) => events.push(event));
  report({ type: "tool-result", call, ok: true, output: "", exitCode: 0, durationMs: 1 });
  report({ type: "tool-result", call, ok: false, output: "denied", durationMs: 0 });
  report({ type: "loop-stop", reason: "max-rounds", message: "stopped after 8 rounds" });
  report({ type: "calls-refused", message: "3 of 40 not run" });
  expect(record.lastSandboxedFailed).toBe(false);
  expect(events.slice(2)).toEqual([
    { type: "notice", persona: "py", reason: "max-rounds", message: "py: stopped after 8 rounds" },
    { type: "notice", persona: "py", reason: "tool-limit", message: "py: 3 of 40 not run" },
  ]);
});
