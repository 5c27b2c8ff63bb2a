import { type LoopEvent, runWithTools } from "../chat.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import type { ReplyHost, ReplyOutcome, ServerSlot } from "./reply-host.ts";
import type { ReplyReport } from "./reply-report.ts";

/** While a tool runs the server slot goes to someone else: a long shell command must not block the room. */
function withSlotFreed(tool: AnyTool, slot: ServerSlot): AnyTool {
  return {
    ...tool,
    async execute(args, context) {
      slot.release();
      try {
        return await tool.execute(args, context);
      } finally {
        await slot.acquire();
      }
    },
  };
}

/**
 * `tools` with each tool's slot freed while it runs, read live: a tool the reply's tools gain meanwhile
 * (`find_tool` adds what it found) is there in the next round.
 */
function slotFreedView(tools: ReadonlyMap<string, AnyTool>, slot: ServerSlot): ReadonlyMap<string, AnyTool> {
  const wrapped = new WeakMap<AnyTool, AnyTool>();
  const wrap = (tool: AnyTool): AnyTool => {
    let freed = wrapped.get(tool);
    if (!freed) {
      freed = withSlotFreed(tool, slot);
      wrapped.set(tool, freed);
    }
    return freed;
  };
  const entries = () => [...tools].map(([name, tool]): [string, AnyTool] => [name, wrap(tool)]);
  return {
    get size() {
      return tools.size;
    },
    get: (name) => {
      const tool = tools.get(name);
      return tool && wrap(tool);
    },
    has: (name) => tools.has(name),
    keys: () => tools.keys(),
    values: () =>
      entries()
        .map(([, tool]) => tool)
        [Symbol.iterator](),
    entries: () => entries()[Symbol.iterator](),
    forEach: (callback, thisArg) => {
      for (const [name, tool] of entries()) callback.call(thisArg, tool, name, tools);
    },
    [Symbol.iterator]: () => entries()[Symbol.iterator](),
  };
}

/**
 * The usual answer: the tool loop on the persona's model with the tools its policy offers, streaming every
 * delta, call and result to the host, holding a server slot only while the model is asked.
 */
export async function respondWithTools(
  host: ReplyHost,
  model: { baseUrl: string; modelId: string; modelSource?: string | undefined },
  messages: ChatMessage[],
): Promise<ReplyOutcome> {
  const tools = slotFreedView(host.tools, host.slot);
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
  await host.slot.acquire();
  try {
    const result = await runWithTools({
      baseUrl: model.baseUrl,
      model: model.modelId,
      messages,
      tools,
      toolContext: host.toolContext,
      signal: host.signal,
      onEvent: onLoopEvent,
      maxRounds: host.maxRounds,
      maxToolCalls: host.maxToolCalls,
      maxReplyChars: host.maxReplyChars,
      budget: host.budget,
      toolTime: host.toolTime,
      ...(model.modelSource ? { modelSource: model.modelSource } : {}),
      approve: (call) => host.approve(call),
      authorization: host.authorization,
    });
    // Servers that send no usage are estimated by runWithTools.
    if (!usageReported) host.reportUsage(result.usage);
    const text = result.messages
      .filter((message) => message.role === "assistant")
      .map((message) => message.content?.trim() ?? "")
      .filter((content) => content !== "")
      .join("\n\n");
    return { text, ...(result.stopReason !== "done" ? { stopped: result.stopReason } : {}) };
  } finally {
    host.slot.release();
  }
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
