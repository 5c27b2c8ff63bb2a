import { modelWait } from "../llm/model-wait.ts";
import type { ReplyReport } from "../personas/reply-report.ts";
import type { RoomToolRun } from "../personas/room-message.ts";
import type { ReplyStatsRecorder } from "./reply-stats.ts";
import type { RoomEvent } from "./room-event.ts";

/** What a reply's reports add up to, read when the reply ends. */
export type ReplyRecord = {
  /** The text streamed so far: what a failed reply keeps. */
  streamed: string;
  /** The tools the reply ran, with their answers. */
  toolRuns: RoomToolRun[];
  /** Whether the last tool that ran a sandboxed process failed (a denied or malformed call ran nothing). */
  lastSandboxedFailed: boolean;
};

/**
 * The one translation from a persona's `ReplyReport`s to `RoomEvent`s: each report is stamped with the
 * reply id and persona; a wait is said only before the first visible output, and a stopped loop or refused
 * calls become notices. Figures go to `stats`, the text and tool runs to the returned record.
 */
export function replyReporter(
  reply: { replyId: string; persona: string; server: string },
  stats: ReplyStatsRecorder,
  emit: (event: RoomEvent) => void,
): { report: (event: ReplyReport) => void; record: ReplyRecord } {
  const { replyId, persona } = reply;
  const record: ReplyRecord = { streamed: "", toolRuns: [], lastSandboxedFailed: false };
  const report = (event: ReplyReport) => {
    switch (event.type) {
      case "waiting":
        if (!stats.visible) emit({ type: "waiting", replyId, persona, ...modelWait("first-token", reply.server) });
        return;
      case "loop-stop":
        emit({ type: "notice", persona, reason: event.reason, message: `${persona}: ${event.message}` });
        return;
      case "calls-refused":
        emit({ type: "notice", persona, reason: event.reason ?? "tool-limit", message: `${persona}: ${event.message}` });
        return;
      case "text-delta":
        record.streamed += event.text;
        stats.sawOutput();
        break;
      case "reasoning-delta":
      case "tool-call":
        // A call is the model's first output as much as text is.
        stats.sawOutput();
        break;
      case "tool-result":
        stats.toolRan();
        record.toolRuns.push({ call: event.call, ok: event.ok, output: event.output });
        if (event.exitCode !== undefined) record.lastSandboxedFailed = !event.ok;
        break;
      case "progress":
        break;
    }
    emit({ ...event, replyId, persona });
  };
  return { report, record };
}
