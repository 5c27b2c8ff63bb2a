import { expect, test } from "bun:test";
import { progressLine, roomNoticeLine, toolOutputPreview, toolResultLine } from "./room-event-lines.ts";

const call = { id: "c", name: "sh", arguments: {} };
const stamp = { replyId: "r", persona: "agent" };

test("a tool result is counted in lines, or its failure said in red", () => {
  expect(toolResultLine({ type: "tool-result", ...stamp, call, ok: true, output: "a\nb", durationMs: 4 })).toEqual({
    text: "✓ sh · 4 ms · 2 lines of output",
    style: "dim",
  });
  expect(toolResultLine({ type: "tool-result", ...stamp, call, ok: true, output: "", durationMs: 0 }).text).toBe("✓ sh · 0 ms · 0 lines of output");
  expect(toolResultLine({ type: "tool-result", ...stamp, call, ok: false, output: "Error: boom", durationMs: 0 }).style).toBe("red");
  // With its number for /output; a failure says its start on the line itself and shows no lines under it.
  const failed = { type: "tool-result" as const, ...stamp, call, ok: false, output: "Error: sh exit code: 1\nmore", durationMs: 3 };
  expect(toolResultLine(failed, 4).text).toBe("✗ sh: exit code: 1 more · /output 4");
  expect(toolOutputPreview(failed, 4)).toEqual([]);
  expect(toolOutputPreview({ ...failed, ok: true, output: `${"x".repeat(300)}\n` }, 2)).toEqual([{ text: `  ${"x".repeat(199)}…`, style: "dim" }]);
});

test("progress marks each status; a failed step is red", () => {
  expect(progressLine({ type: "progress", ...stamp, step: "tests", status: "done", detail: "9 passed" })).toEqual({
    text: "✓ tests: done · 9 passed",
    style: "dim",
  });
  expect(progressLine({ type: "progress", ...stamp, step: "tests", status: "failed" })).toEqual({ text: "✗ tests: failed", style: "red" });
  expect(progressLine({ type: "progress", ...stamp, step: "x", status: "running" }).text).toBe("… x: running");
});

test("room-wide events have a line; reply events have none here", () => {
  expect(roomNoticeLine({ type: "mode", mode: "group", by: "agent" })).toEqual({ text: "· mode is now group (set by agent)", style: "gray" });
  expect(roomNoticeLine({ type: "mode", mode: "group", by: "user" })?.text).toBe("· mode is now group");
  expect(roomNoticeLine({ type: "error", message: "down" })).toEqual({ text: "✗ down", style: "red" });
  const compaction = {
    type: "compaction",
    persona: "agent",
    messages: 48,
    throughId: "m48",
    tokens: 1130,
    summary: "- fact: x",
    model: "m",
  } as const;
  expect(roomNoticeLine({ ...compaction, dropped: 0 })).toEqual({
    text: "· agent: compacted 48 messages into a summary, 1.1 k tokens",
    style: "gray",
  });
  expect(roomNoticeLine({ ...compaction, messages: 1, dropped: 2 })?.text).toBe(
    "· agent: compacted 1 message into a summary, 1.1 k tokens; 2 unsupported lines left out",
  );
  expect(roomNoticeLine({ type: "text-delta", ...stamp, text: "x" })).toBeUndefined();
});
