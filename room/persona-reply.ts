import { type Budget, BudgetExceededError } from "../security/budget.ts";
import { type LoopEvent, runWithTools } from "../chat.ts";
import { ChatError } from "../llm/chat-errors.ts";
import type { ToolCall } from "../llm/chat-types.ts";
import type { Model } from "../models/model.ts";
import type { OrgLimits } from "../config/org-config.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { findMentions } from "./mentions.ts";
import type { RoomMessage } from "../models/room-message.ts";
import type { PersonaStats, RoomEvent } from "./room-event.ts";
import { appendInsideWorkspace, UnsafeWriteError } from "../security/safe-file-write.ts";
import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { ToolTimeBudget } from "../security/tool-time-budget.ts";
import { type DecidingPolicy, effectivePolicy } from "../security/policy.ts";

/** What a reply needs from its room. */
export type ReplyHost = {
  emit(event: RoomEvent): void;
  mode(): string;
  names: readonly string[];
  workspaceDir: string;
  /** Files replies may never be written to (org's config file). */
  protectedFiles: readonly string[];
  sessionId: string;
  limits: OrgLimits;
  budget: Budget;
  /** The Authorization header that belongs to this server, if any. */
  authorization(baseUrl: string): string | undefined;
  audit?: AuditSink;
  approve?: (persona: string, call: ToolCall) => Promise<boolean>;
  /** Requests open against one model server: a stock Ollama serves one at a time. */
  slots(baseUrl: string): FifoSemaphore;
  /** The tools this persona's policy offers (allow and ask). */
  tools(model: Model): ReadonlyMap<string, AnyTool>;
  /** The room messages this persona answers from. */
  context(persona: string, trigger: RoomMessage): RoomMessage[];
  heardBy(speaker: string, mentions: string[]): string[];
  /** Adds the finished message to the room's history. */
  record(message: RoomMessage): void;
};

/** The parts of a user turn a reply reports into. */
export type ReplyTurn = {
  turnId: string;
  signal: AbortSignal;
  stats: Record<string, PersonaStats>;
  errors: { persona?: string; message: string }[];
  toolTime: ToolTimeBudget;
};

/** The shortest stretch of streaming a tokens-per-second figure is computed over. */
const MIN_RATE_SECONDS = 0.25;

const emptyStats = (): PersonaStats => ({
  replies: 0,
  promptTokens: 0,
  completionTokens: 0,
  tokensPerSecond: 0,
  firstTokenMs: null,
  queuedMs: 0,
  durationMs: 0,
});

/** Adds one reply's figures to a persona's turn figures. */
function addStats(total: PersonaStats, reply: PersonaStats): void {
  const streamingSeconds = (stats: PersonaStats) => (stats.tokensPerSecond > 0 ? stats.completionTokens / stats.tokensPerSecond : 0);
  const seconds = streamingSeconds(total) + streamingSeconds(reply);
  total.replies += reply.replies;
  total.promptTokens += reply.promptTokens;
  total.completionTokens += reply.completionTokens;
  total.tokensPerSecond = seconds > 0 ? Math.round((total.completionTokens / seconds) * 10) / 10 : 0;
  total.firstTokenMs ??= reply.firstTokenMs;
  total.queuedMs += reply.queuedMs;
  total.durationMs += reply.durationMs;
}

/**
 * One persona's reply: waits for a slot on its model server, runs the tool loop with the tools its policy
 * allows, streams events as they come, and records the message (partial and marked failed when the model
 * broke off). Returns the message, whose `addressed` are the personas it asks next.
 */
export async function personaReply(
  host: ReplyHost,
  turn: ReplyTurn,
  model: Model,
  hop: number,
  trigger: RoomMessage,
  replyId: string,
  /** For a hop: the code policy of the personas that asked, which this reply's code tools may not exceed. */
  ceiling?: DecidingPolicy,
): Promise<RoomMessage> {
  const { emit } = host;
  const persona = model.name;
  const mode = host.mode();
  const destination = mode.startsWith("file:") ? mode : "console";
  const started = performance.now();
  const stats = emptyStats();
  stats.replies = 1;
  let firstTokenAt: number | undefined;
  // Time spent in tools after the first token, which is no part of the model's speed.
  let toolMs = 0;
  let streamed = "";
  let failed: string | undefined;
  let text = "";
  emit({ type: "reply-start", turnId: turn.turnId, replyId, persona, model: model.model, hop, destination });
  const visible = () => {
    if (firstTokenAt === undefined) {
      firstTokenAt = performance.now();
      stats.firstTokenMs = Math.round(firstTokenAt - started);
    }
  };

  const canned = model.cannedReply(trigger);
  if (canned !== undefined) {
    visible();
    emit({ type: "text-delta", replyId, persona, text: canned });
    text = canned;
  } else {
    const server = host.slots(model.baseUrl);
    const slot: { release?: () => void } = {};
    const takeSlot = async () => {
      if (server.isFull) emit({ type: "waiting", replyId, persona, reason: "queued", baseUrl: model.baseUrl });
      const queuedFrom = performance.now();
      slot.release = await server.acquire({ signal: turn.signal });
      stats.queuedMs += Math.round(performance.now() - queuedFrom);
    };
    // While a tool runs the server slot goes to someone else: a long shell command must not block the room.
    const withSlotFreed = (tool: AnyTool): AnyTool => ({
      ...tool,
      async execute(args, context) {
        slot.release?.();
        slot.release = undefined;
        try {
          return await tool.execute(args, context);
        } finally {
          await takeSlot();
        }
      },
    });
    const tools = new Map([...host.tools(model)].map(([name, tool]) => [name, withSlotFreed(tool)]));
    const onLoopEvent = (event: LoopEvent) => {
      switch (event.type) {
        case "text-delta":
          visible();
          streamed += event.text;
          emit({ type: "text-delta", replyId, persona, text: event.text });
          break;
        case "reasoning-delta":
          visible();
          emit({ type: "reasoning-delta", replyId, persona, text: event.text });
          break;
        case "tool-call":
          // A call is the model's first output as much as text is.
          visible();
          emit({ type: "tool-call", replyId, persona, call: event.call });
          break;
        case "tool-result":
          toolMs += event.durationMs;
          emit({ type: "tool-result", replyId, persona, call: event.call, ok: event.result.ok, output: event.result.output, durationMs: event.durationMs });
          break;
        case "finish":
          if (event.usage) {
            stats.promptTokens += event.usage.promptTokens;
            stats.completionTokens += event.usage.completionTokens;
          }
          break;
        case "loop-stop":
          emit({ type: "notice", persona, reason: event.reason, message: `${persona}: ${event.message}` });
          break;
        case "calls-refused":
          emit({ type: "notice", persona, reason: "tool-limit", message: `${persona}: ${event.message}` });
          break;
        case "round-start":
          if (event.round > 1 && firstTokenAt === undefined) emit({ type: "waiting", replyId, persona, reason: "first-token", baseUrl: model.baseUrl });
          break;
        default:
          break;
      }
    };
    try {
      await takeSlot();
      emit({ type: "waiting", replyId, persona, reason: "first-token", baseUrl: model.baseUrl });
      const policy = model.toolPolicy;
      const result = await runWithTools({
        baseUrl: model.baseUrl,
        model: model.model,
        messages: model.context(host.context(persona, trigger), host.names),
        tools,
        toolContext: { workspaceDir: host.workspaceDir, sessionId: host.sessionId, persona, ...(host.audit ? { audit: host.audit } : {}) },
        signal: turn.signal,
        onEvent: onLoopEvent,
        maxRounds: host.limits.toolRoundsPerTurn,
        maxToolCalls: host.limits.toolCallsPerReply,
        budget: host.budget,
        toolTime: turn.toolTime,
        ...(model.modelSource ? { modelSource: model.modelSource } : {}),
        approve: async (call) => {
          // A hop runs code under the stricter of this persona's policy and those of the personas that asked.
          const own = { policy: policy[call.name] ?? "deny", from: persona };
          const decided = effectivePolicy(own, tools.get(call.name) ?? { runsCode: false }, ceiling);
          const whose = decided.from === persona ? "org.config.json" : `${decided.from}'s policy (${decided.from} asked ${persona} for this)`;
          if (decided.policy === "deny") {
            emit({ type: "notice", persona, reason: "approval", message: `${persona}'s ${call.name} call was not run: ${whose} does not let it run code.` });
            return { run: false, reason: `Error: not run: ${whose} does not allow ${call.name} here. Do not retry it; answer without it or ask the user.` };
          }
          if (decided.policy === "allow") return { run: true, policyFrom: decided.from };
          if (!host.approve) {
            emit({
              type: "notice",
              persona,
              reason: "approval",
              message: `${persona}'s ${call.name} call needs approval (${whose} marks it "ask") and nobody can approve here; it was denied.`,
            });
            return false;
          }
          return (await host.approve(persona, call)) ? { run: true, policyFrom: decided.from } : false;
        },
        authorization: host.authorization(model.baseUrl),
      });
      // Usage came through the finish events; servers without usage are estimated by runWithTools.
      if (stats.promptTokens + stats.completionTokens === 0) {
        stats.promptTokens = result.usage.promptTokens;
        stats.completionTokens = result.usage.completionTokens;
      }
      text = result.messages
        .filter((message) => message.role === "assistant")
        .map((message) => message.content?.trim() ?? "")
        .filter((content) => content !== "")
        .join("\n\n");
    } catch (error) {
      text = streamed;
      // A broken stream sends no usage; count what arrived (about four characters a token) against the budget.
      const estimated = Math.ceil(streamed.length / 4);
      if (stats.completionTokens === 0 && estimated > 0) {
        stats.completionTokens = estimated;
        host.budget.recordUsage({ promptTokens: 0, completionTokens: estimated });
      }
      failed =
        error instanceof ChatError || error instanceof BudgetExceededError || error instanceof Error ? error.message : String(error);
      const kind = error instanceof ChatError ? error.kind : error instanceof BudgetExceededError ? "budget" : undefined;
      turn.errors.push({ persona, message: failed });
      emit({ type: "error", persona, replyId, message: failed, ...(kind ? { kind } : {}) });
    } finally {
      slot.release?.();
    }
  }

  const mentions = failed === undefined ? findMentions(text, host.names).filter((name) => name !== persona) : [];
  const message: RoomMessage = {
    id: replyId,
    turnId: turn.turnId,
    from: persona,
    text,
    time: new Date().toISOString(),
    heardBy: host.heardBy(persona, mentions),
    addressed: mentions,
    ...(failed !== undefined ? { failed } : {}),
    ...(destination.startsWith("file:") ? { file: destination.slice("file:".length) } : {}),
  };
  if (message.file !== undefined && text !== "") {
    const block = `## ${persona} — ${message.time}\n\n${text}\n${failed !== undefined ? `\n(reply ended early: ${failed})\n` : ""}\n`;
    try {
      // Checked again at write time, and written without following any link: the path may have changed since.
      const { bytes } = appendInsideWorkspace(host.workspaceDir, message.file, block, { protectedFiles: host.protectedFiles });
      emit({ type: "file-written", replyId, persona, path: message.file, bytes });
    } catch (error) {
      const reason = `${persona}'s reply was not written to ${message.file}: ${error instanceof Error ? error.message : String(error)} The reply is kept in the transcript.`;
      turn.errors.push({ persona, message: reason });
      if (error instanceof UnsafeWriteError) emit({ type: "notice", persona, reason: "file-refused", message: reason });
      else emit({ type: "error", persona, replyId, message: reason });
    }
  }
  host.record(message);
  emit({ type: "message", persona, message });

  const end = performance.now();
  stats.durationMs = Math.round(end - started);
  const streamingSeconds = firstTokenAt === undefined ? 0 : (end - firstTokenAt - toolMs) / 1000;
  // A reply that came in one or two chunks has no speed worth showing (it would read as thousands a second).
  stats.tokensPerSecond =
    streamingSeconds >= MIN_RATE_SECONDS ? Math.round((stats.completionTokens / streamingSeconds) * 10) / 10 : 0;
  turn.stats[persona] ??= emptyStats();
  addStats(turn.stats[persona] as PersonaStats, stats);
  emit({ type: "reply-end", replyId, persona, ok: failed === undefined, stats });
  return message;
}

