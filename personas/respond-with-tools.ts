import { type LoopEvent, type LoopWindow, runWithTools } from "../tool-loop/run-with-tools.ts";
import { ChatError } from "../llm/chat-errors.ts";
import type { ChatMessage, ToolDefinition } from "../llm/chat-types.ts";
import { ContextOverflowError, isServerOverflow } from "./context-overflow.ts";
import type { AssembledPrompt, ContextWindow } from "./prompt-assembly.ts";
import type { ReplyHost, ReplyOutcome } from "./reply-host.ts";
import type { ReplyReport } from "./reply-report.ts";

/** Makes the prompt for a window and the tools offered (a persona's `prompt`). */
export type AssemblePrompt = (window: ContextWindow, tools: readonly ToolDefinition[]) => AssembledPrompt;

/**
 * The usual answer: the tool loop on the persona's model with the tools its policy offers, streaming every
 * delta, call and result to the host, holding a server slot only while the model is asked (the host's model holds it).
 * The prompt is assembled for the model's window; a server that still refuses it as too long gets one more try on a
 * smaller prompt, then the reply fails with ContextOverflowError naming what took the window.
 */
export async function respondWithTools(host: ReplyHost, assemble: AssemblePrompt): Promise<ReplyOutcome> {
  const definitions = [...host.tools.values()].map((tool) => tool.definition);
  const window = await host.model.window(host.signal);
  const prompt = assemble(window, definitions);
  host.prompt.assembled(prompt);
  const first = await answerOnce(host, prompt);
  if (first.ok) return first.outcome;
  if (!isServerOverflow(first.error) || first.progressed) throw first.error;
  // The server counts more than the estimate did: once more on a prompt a quarter smaller, which leaves more out.
  const smaller = { ...window, tokens: Math.floor(prompt.parts.total * 0.75) + prompt.parts.reserve };
  let retry: AssembledPrompt;
  try {
    retry = assemble(smaller, definitions);
  } catch (error) {
    if (error instanceof ContextOverflowError) throw new ContextOverflowError({ ...error.parts, window }, serverSaid(first.error));
    throw error;
  }
  host.prompt.assembled(retry);
  const second = await answerOnce(host, retry);
  if (second.ok) return second.outcome;
  if (!isServerOverflow(second.error)) throw second.error;
  const { parts } = retry;
  throw new ContextOverflowError(
    { persona: hostPersona(host), window, reserve: parts.reserve, system: parts.system, tools: parts.tools, newest: parts.newest },
    serverSaid(second.error),
  );
}

/** The persona a host answers for: the one its tool context names. */
function hostPersona(host: ReplyHost): string {
  return host.toolContext.persona ?? "the persona";
}

function serverSaid(error: unknown): string {
  if (error instanceof ChatError && error.serverMessage !== undefined) return error.serverMessage;
  return error instanceof Error ? error.message : String(error);
}

/**
 * One run of the tool loop on an assembled prompt: its outcome, or the error it threw and whether anything was shown
 * or run before it (then it is not tried again).
 */
async function answerOnce(
  host: ReplyHost,
  prompt: AssembledPrompt,
): Promise<{ ok: true; outcome: ReplyOutcome } | { ok: false; error: unknown; progressed: boolean }> {
  let usageReported = false;
  let progressed = false;
  let round = 0;
  const rounds = roundBreaks();
  const modelId = host.model.modelId;
  const onLoopEvent = (event: LoopEvent) => {
    if (event.type === "round-start") round = event.round;
    if (event.type === "finish" && event.usage) {
      usageReported = true;
      host.reportUsage(event.usage);
      // The first round's prompt is the one assembled: what the server counted for it calibrates the estimate.
      if (round === 1) host.prompt.estimator.calibrate(modelId, prompt.size, event.usage.promptTokens);
    }
    const report = toReplyReport(event);
    if (!report) return;
    if (report.type !== "waiting") progressed = true;
    const separator = rounds.before(report);
    if (separator) host.report(separator);
    host.report(report);
  };
  try {
    const result = await runWithTools({
      model: host.model,
      ...(host.modelAfterTool ? { modelAfterTool: host.modelAfterTool } : {}),
      messages: prompt.messages,
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
      ...(host.onOutsideWords ? { onOutsideWords: host.onOutsideWords } : {}),
      window: loopWindow(host, prompt),
      // Org's summary is a model's text, not the person's: a call that repeats it word for word is not run.
      outsideText: prompt.summaryText !== undefined ? [prompt.summaryText] : [],
    });
    // Servers that send no usage are estimated by runWithTools.
    if (!usageReported) host.reportUsage(result.usage);
    const text = result.messages
      .filter((message) => message.role === "assistant")
      .map((message) => message.content?.trim() ?? "")
      .filter((content) => content !== "")
      .join("\n\n");
    return { ok: true, outcome: { text, ...(result.stopReason !== "done" ? { stopped: result.stopReason } : {}) } };
  } catch (error) {
    return { ok: false, error, progressed };
  }
}

/** The window as the tool loop keeps to it: each round's conversation counted with the same estimate. */
function loopWindow(host: ReplyHost, prompt: AssembledPrompt): LoopWindow {
  const { estimator } = host.prompt;
  const modelId = host.model.modelId;
  // The tools' size as the prompt counted it: the same definitions, not serialised again.
  const { toolChars } = prompt.size;
  return {
    tokens: prompt.parts.window.tokens,
    reserve: prompt.parts.reserve,
    tokensOf: (messages: readonly ChatMessage[]) => estimator.messagesTokens(modelId, messages, toolChars),
    charsIn: (tokens: number) => Math.max(0, Math.floor(tokens * estimator.charsPerToken(modelId))),
  };
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
        ...(event.result.outsideWords ? { outsideFrom: event.result.outsideWords.from } : {}),
      };
    case "calls-refused":
      return { type: "calls-refused", message: event.message, ...(event.reason ? { reason: event.reason } : {}) };
    case "round-start":
      return { type: "waiting" };
    default:
      return undefined;
  }
}
