import { type LoopEvent, runWithTools } from "../tool-loop/run-with-tools.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { ReplyHost, ReplyOutcome } from "./reply-host.ts";
import type { ReplyReport } from "./reply-report.ts";

/**
 * The usual answer: the tool loop on the persona's model with the tools its policy offers, streaming every
 * delta, call and result to the host, holding a server slot only while the model is asked (the host's model holds it).
 */
export async function respondWithTools(host: ReplyHost, messages: ChatMessage[]): Promise<ReplyOutcome> {
  let usageReported = false;
  const rounds = roundBreaks();
  const onLoopEvent = (event: LoopEvent) => {
    if (event.type === "finish" && event.usage) {
      usageReported = true;
      host.reportUsage(event.usage);
    }
    const report = toReplyReport(event);
    if (!report) return;
    const separator = rounds.before(report);
    if (separator) host.report(separator);
    host.report(report);
  };
  const result = await runWithTools({
    model: host.model,
    messages,
    tools: host.tools,
    toolContext: host.toolContext,
    signal: host.signal,
    onEvent: onLoopEvent,
    maxRounds: host.maxRounds,
    maxToolCalls: host.maxToolCalls,
    maxReplyChars: host.maxReplyChars,
    budget: host.budget,
    toolTime: host.toolTime,
    approve: (call) => host.approve(call),
  });
  // Servers that send no usage are estimated by runWithTools.
  if (!usageReported) host.reportUsage(result.usage);
  const text = result.messages
    .filter((message) => message.role === "assistant")
    .map((message) => message.content?.trim() ?? "")
    .filter((content) => content !== "")
    .join("\n\n");
  return { text, ...(result.stopReason !== "done" ? { stopped: result.stopReason } : {}) };
}

/**
 * The break between two rounds' text: a reply that says something, calls a tool and says more is two
 * paragraphs, in the stream as in the final message (which joins the rounds with a blank line). Without it
 * every reader of the deltas (serve's stream, a transcript's open reply, a failed reply's kept text) would
 * read "…the sandbox.It's a small …".
 */
export function roundBreaks(): { before(report: ReplyReport): ReplyReport | undefined } {
  let said = false;
  let newRound = false;
  return {
    before(report) {
      if (report.type === "tool-call") newRound = true;
      if (report.type !== "text-delta" || report.text.trim() === "") return undefined;
      const separator = said && newRound ? { type: "text-delta" as const, text: "\n\n" } : undefined;
      said = true;
      newRound = false;
      return separator;
    },
  };
}

/**
 * The one translation from the tool loop's events to a persona's reports. Deltas, calls and a stopped loop
 * have the same shape in both and pass as they are; a result is flattened (the room records `ok` and
 * `output` beside the call), a round start is a wait for the model, usage and the rest are not reports.
 */
export function toReplyReport(event: LoopEvent): ReplyReport | undefined {
  switch (event.type) {
    case "text-delta":
    case "reasoning-delta":
    case "tool-call":
    case "loop-stop":
      return event;
    case "tool-result":
      return {
        type: "tool-result",
        call: event.call,
        ok: event.result.ok,
        output: event.result.output,
        ...(event.result.data !== undefined ? { data: event.result.data } : {}),
        ...(event.result.exitCode !== undefined ? { exitCode: event.result.exitCode } : {}),
        durationMs: event.durationMs,
      };
    case "calls-refused":
      return { type: "calls-refused", message: event.message, ...(event.reason ? { reason: event.reason } : {}) };
    case "round-start":
      return { type: "waiting" };
    default:
      return undefined;
  }
}
