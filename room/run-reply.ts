import { ChatError } from "../llm/chat-errors.ts";
import type { ToolCall } from "../llm/chat-types.ts";
import type { ReplyHost, ReplyOutcome } from "../models/reply-host.ts";
import type { ReplyReport } from "../models/reply-report.ts";
import type { Model } from "../models/model.ts";
import type { RoomMessage, RoomToolRun } from "../models/room-message.ts";
import type { OrgLimits } from "../config/org-config.ts";
import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { type Budget, BudgetExceededError } from "../security/budget.ts";
import { redactValue } from "../security/redact.ts";
import { redact } from "../security/redact.ts";
import { UnsafeWriteError } from "../security/safe-file-write.ts";
import type { ToolTimeBudget } from "../security/tool-time-budget.ts";
import type { DecidingPolicy } from "../security/policy.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { findMentions } from "./mentions.ts";
import { appendReplyToFile } from "./reply-delivery.ts";
import { addStats, emptyStats, ReplyStatsRecorder } from "./reply-stats.ts";
import type { IncompleteReply, PersonaStats, RoomEvent } from "./room-event.ts";
import { formatRoomMode, type RoomMode } from "./room-mode.ts";
import { serverSlot } from "./server-slot.ts";
import { type ApprovalAnswer, toolApproval } from "./tool-approval.ts";
import type { TurnToolChoice } from "./turn-tool-choice.ts";

/** What a reply needs from its room. */
export type ReplyRoom = {
  emit(event: RoomEvent): void;
  mode(): RoomMode;
  names: readonly string[];
  workspaceDir: string;
  /** Keys and URL credentials of this room's servers, for the redactor. */
  secrets: readonly string[];
  /** Files replies may never be written to (org's config file). */
  protectedFiles: readonly string[];
  sessionId: string;
  limits: OrgLimits;
  budget: Budget;
  /** The Authorization header that belongs to a server, if any. */
  authorization(baseUrl: string): string | undefined;
  audit?: AuditSink;
  approve?: (persona: string, call: ToolCall) => Promise<ApprovalAnswer>;
  /** Requests open against one model server: a stock Ollama serves one at a time. */
  slots(baseUrl: string): FifoSemaphore;
  /** The tools this persona's policy offers (allow and ask). */
  tools(model: Model): ReadonlyMap<string, AnyTool>;
  /** Per-turn tool choice among many generated tools; absent: every tool the policy offers. */
  toolChoice?: TurnToolChoice;
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
  incomplete: IncompleteReply[];
  /** Tool time the whole user message may spend, shared by every reply it sets off. */
  toolTime: ToolTimeBudget;
};

/** The tools a reply is offered: all its policy allows, or the per-turn choice among them (recorded as an event). */
async function toolsFor(room: ReplyRoom, model: Model, trigger: RoomMessage, signal: AbortSignal, replyId: string) {
  const all = room.tools(model);
  if (!room.toolChoice) return { tools: all, policy: model.toolPolicy };
  try {
    const choice = await room.toolChoice.offer(all, trigger.text, signal);
    if (!choice) return { tools: all, policy: model.toolPolicy };
    room.emit({ type: "tool-choice", replyId, persona: model.name, chosen: choice.chosen, of: choice.of, method: choice.method });
    // find_tool only searches and runs nothing: always allowed.
    return { tools: choice.tools, policy: { ...model.toolPolicy, find_tool: "allow" as const } };
  } catch (error) {
    if (signal.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    room.emit({ type: "notice", persona: model.name, reason: "tool-choice", message: `${model.name} is offered every tool: choosing among them failed (${reason})` });
    return { tools: all, policy: model.toolPolicy };
  }
}

/**
 * One persona's reply: the persona's own `respond` does the answering through a narrow host (server slot,
 * approval, tools, reports); this wraps it with the reply's events and figures, turns a failure into a
 * message marked failed with what streamed, delivers it (console or file) and records it. Returns the
 * message, whose `addressed` are the personas it asks next.
 */
export async function runReply(
  room: ReplyRoom,
  turn: ReplyTurn,
  model: Model,
  hop: number,
  trigger: RoomMessage,
  replyId: string,
  /** For a hop: the code policy of the personas that asked, which this reply's code tools may not exceed. */
  ceiling?: DecidingPolicy,
): Promise<RoomMessage> {
  const { emit } = room;
  const persona = model.name;
  const mode = room.mode();
  const stats = new ReplyStatsRecorder();
  let streamed = "";
  const toolRuns: RoomToolRun[] = [];
  // Whether the last tool that ran a sandboxed process failed (a denied or malformed call ran nothing).
  let lastSandboxedFailed = false;
  emit({
    type: "reply-start",
    turnId: turn.turnId,
    replyId,
    persona,
    model: model.modelId,
    hop,
    destination: mode.kind === "file" ? formatRoomMode(mode) : "console",
  });

  const authorization = room.authorization(model.baseUrl);
  const { tools, policy } = await toolsFor(room, model, trigger, turn.signal, replyId);
  const report = (event: ReplyReport) => {
    switch (event.type) {
      case "waiting":
        if (!stats.visible) emit({ type: "waiting", replyId, persona, reason: "first-token", baseUrl: model.baseUrl });
        return;
      case "loop-stop":
        emit({ type: "notice", persona, reason: event.reason, message: `${persona}: ${event.message}` });
        return;
      case "calls-refused":
        emit({ type: "notice", persona, reason: "tool-limit", message: `${persona}: ${event.message}` });
        return;
      case "text-delta":
        streamed += event.text;
        stats.sawOutput();
        break;
      case "reasoning-delta":
      case "tool-call":
        // A call is the model's first output as much as text is.
        stats.sawOutput();
        break;
      case "tool-result":
        stats.toolRan(event.durationMs);
        toolRuns.push({ call: event.call, ok: event.ok, output: event.output });
        if (event.exitCode !== undefined) lastSandboxedFailed = !event.ok;
        break;
      case "progress":
        break;
    }
    emit({ ...event, replyId, persona });
  };
  const host: ReplyHost = {
    replyId,
    signal: turn.signal,
    trigger,
    history: room.context(persona, trigger),
    roomPersonas: room.names,
    slot: serverSlot(room.slots(model.baseUrl), turn.signal, {
      onQueued: () => emit({ type: "waiting", replyId, persona, reason: "queued", baseUrl: model.baseUrl }),
      onWaited: (ms) => stats.queued(ms),
    }),
    tools,
    approve: toolApproval({
      persona,
      policy,
      tools,
      ceiling,
      approve: room.approve,
      onNotice: (message) => emit({ type: "notice", persona, reason: "approval", message }),
      secrets: room.secrets,
    }),
    toolContext: {
      workspaceDir: room.workspaceDir,
      sessionId: room.sessionId,
      persona,
      secrets: room.secrets,
      workflowStepRuns: room.limits.workflowStepRuns,
      ...(room.audit ? { audit: room.audit } : {}),
    },
    maxToolRounds: room.limits.toolRoundsPerTurn,
    maxToolCalls: room.limits.toolCallsPerReply,
    maxReplyChars: room.limits.replyChars,
    budget: room.budget,
    toolTime: turn.toolTime,
    ...(authorization !== undefined ? { authorization } : {}),
    report,
    reportUsage: (usage) => stats.usage(usage),
  };

  let outcome: ReplyOutcome;
  let failed: string | undefined;
  try {
    outcome = await model.respond(host);
  } catch (error) {
    outcome = { text: streamed };
    // A broken stream sends no usage; count what arrived (about four characters a token) against the budget.
    const estimated = Math.ceil(streamed.length / 4);
    if (stats.completionTokens === 0 && estimated > 0) {
      stats.usage({ promptTokens: 0, completionTokens: estimated });
      room.budget.recordUsage({ promptTokens: 0, completionTokens: estimated });
    }
    failed = error instanceof Error ? error.message : String(error);
    // Stopped by the user (Ctrl-C, a client gone): whatever threw, it is one kind, so it is reported once.
    const kind = turn.signal.aborted ? "aborted" : error instanceof ChatError ? error.kind : error instanceof BudgetExceededError ? "budget" : undefined;
    turn.errors.push({ persona, message: failed });
    emit({ type: "error", persona, replyId, message: failed, ...(kind ? { kind } : {}) });
  } finally {
    host.slot.release();
  }

  // What a server sent may hold a key it was given: redacted before the history, the file or another persona.
  const text = redact(outcome.text, room.secrets);
  if (failed !== undefined) failed = redact(failed, room.secrets);
  const addressed =
    failed !== undefined ? [] : (outcome.addressed ?? findMentions(text, room.names)).filter((name) => name !== persona);
  const message: RoomMessage = {
    id: replyId,
    turnId: turn.turnId,
    from: persona,
    text,
    time: new Date().toISOString(),
    heardBy: room.heardBy(persona, addressed),
    addressed,
    ...(failed !== undefined ? { failed } : {}),
    ...(mode.kind === "file" ? { file: mode.path } : {}),
    ...(toolRuns.length > 0 ? { tools: redactValue(toolRuns, room.secrets) } : {}),
  };
  if (failed === undefined) {
    // A failed last sandboxed run counts even when the model then explained it: the work did not get done.
    const unfinished = outcome.stopped ?? (lastSandboxedFailed ? "tool-failed" : undefined);
    if (unfinished !== undefined) turn.incomplete.push({ persona, replyId, reason: unfinished });
  }
  if (message.file !== undefined && text !== "") {
    try {
      const bytes = appendReplyToFile(room.workspaceDir, { ...message, file: message.file }, room.protectedFiles);
      emit({ type: "file-written", replyId, persona, path: message.file, bytes });
    } catch (error) {
      const reason = `${persona}'s reply was not written to ${message.file}: ${error instanceof Error ? error.message : String(error)} The reply is kept in the transcript.`;
      turn.errors.push({ persona, message: reason });
      if (error instanceof UnsafeWriteError) emit({ type: "notice", persona, reason: "file-refused", message: reason });
      else emit({ type: "error", persona, replyId, message: reason });
    }
  }
  room.record(message);
  emit({ type: "message", persona, message });

  const replyStats = stats.finish();
  turn.stats[persona] ??= emptyStats();
  addStats(turn.stats[persona] as PersonaStats, replyStats);
  emit({ type: "reply-end", replyId, persona, ok: failed === undefined, stats: replyStats });
  return message;
}
