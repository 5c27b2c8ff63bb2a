import type { LanguageModel } from "../llm/language-model.ts";
import type { NamedSecret } from "../security/named-secret.ts";
import { WORKSPACE_WRITE } from "../config/tool-names.ts";
import { ChatError } from "../llm/chat-errors.ts";
import type { PromptKeeping, ReplyHost, ReplyOutcome } from "../personas/reply-host.ts";
import type { Persona } from "../personas/persona.ts";
import type { RoomMessage, RoomToolRun } from "../personas/room-message.ts";
import type { OrgLimits } from "../config/org-limits.ts";
import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { type Budget, BudgetExceededError } from "../security/budget.ts";
import { redactValue } from "../security/redact.ts";
import { redact } from "../security/redact.ts";
import { UnsafeWriteError } from "../security/safe-file-write.ts";
import type { ToolTimeBudget } from "../security/tool-time-budget.ts";
import type { DecidingPolicy } from "../security/policy.ts";
import type { AnyTool, AskPerson } from "../tools/define-tool.ts";
import { findMentions } from "./mentions.ts";
import { appendReplyToFile } from "./reply-delivery.ts";
import { addStats, emptyStats, ReplyStatsRecorder } from "./reply-stats.ts";
import type { IncompleteReply, PersonaStats, RoomEvent } from "./room-event.ts";
import { replyReporter } from "./reply-reporter.ts";
import { formatRoomMode, type RoomMode } from "./room-mode.ts";
import { modelWait } from "../llm/model-wait.ts";
import { withServerSlot } from "../llm/server-slot-model.ts";
import { type Approver, toolApproval } from "./tool-approval.ts";
import type { TurnOutsideWords } from "./outside-words.ts";
import type { TurnToolChoice } from "./turn-tool-choice.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { type WorkspaceWriteReply, type WorkspaceWriteRoom, workspaceWriter } from "./workspace-write.ts";

/** What a reply needs from its room, with the sandbox and the policy its tools run under and the sessions' copies. */
export type ReplyRoom = SandboxAccess & {
  workspaceCopies: WorkspaceCopies;
  emit(event: RoomEvent): void;
  mode(): RoomMode;
  names: readonly string[];
  workspaceDir: string;
  /** Keys and URL credentials of this room's servers, for the redactor. */
  secrets: readonly string[];
  /** What web_request and web_fetch never send, named where they stand (`RoomCore.outboundSecrets`). */
  outboundSecrets?: readonly (string | NamedSecret)[];
  /** The config file the policies came from; undefined when only defaults apply. */
  configFile: string | undefined;
  /** The model `models.byTool` routes the reply after `tool`'s result to, standing in for `base`; undefined when none. */
  routeAfterTool?: ((tool: string, base: LanguageModel) => LanguageModel | undefined) | undefined;
  /** Files replies may never be written to (org's config file). */
  protectedFiles: readonly string[];
  sessionId: string;
  limits: OrgLimits;
  budget: Budget;
  audit?: AuditSink;
  /** Where changes commands made on the workspace's private copy are decided (`sandbox.workspace: "write"`). */
  workspaceWrite?: WorkspaceWriteRoom;
  /** The room's approval questions: asked of the console or of whoever watches the room's stream. */
  approver: Approver;
  /** Requests open against one model server (a model's `server`): a stock Ollama serves one at a time. */
  slots(server: string): FifoSemaphore;
  /** The tools this persona's policy offers (allow and ask). */
  tools(model: Persona): ReadonlyMap<string, AnyTool>;
  /** Per-turn tool choice among many generated tools; absent: every tool the policy offers. */
  toolChoice?: TurnToolChoice;
  /** The room messages this persona answers from. */
  context(persona: string, trigger: RoomMessage): RoomMessage[];
  /** How this persona's prompt keeps to its model's window: the estimate, the reserve, its summary, compaction. */
  promptKeeping(persona: string): PromptKeeping;
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
  /** Which personas took words from outside (a page's) since the person spoke: their calls that act are asked. */
  outsideWords: TurnOutsideWords;
};

/** The tools a reply is offered: all its policy allows, or the per-turn choice among them (recorded as an event). */
async function toolsFor(room: ReplyRoom, model: Persona, trigger: RoomMessage, signal: AbortSignal, replyId: string) {
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
    room.emit({
      type: "notice",
      persona: model.name,
      reason: "tool-choice",
      message: `${model.name} is offered every tool: choosing among them failed (${reason})`,
    });
    return { tools: all, policy: model.toolPolicy };
  }
}

/** The room's side of the tools a reply may use: server slot, approval, workspace, bounds, reports. */
function replyHost(
  room: ReplyRoom,
  turn: ReplyTurn,
  reply: { model: Persona; trigger: RoomMessage; replyId: string; ceiling: DecidingPolicy | undefined; over: AbortSignal },
  offered: { tools: ReadonlyMap<string, AnyTool>; policy: Persona["toolPolicy"] },
  stats: ReplyStatsRecorder,
  report: ReplyHost["report"],
): ReplyHost {
  const { model, trigger, replyId } = reply;
  const persona = model.name;
  const { emit } = room;
  const { languageModel } = model;
  return {
    replyId,
    signal: turn.signal,
    trigger,
    history: room.context(persona, trigger),
    roomPersonas: room.names,
    model: withServerSlot(languageModel, room.slots(languageModel.server), {
      onQueued: () => emit({ type: "waiting", replyId, persona, ...modelWait("queued", languageModel.server) }),
      onWaited: (ms) => stats.queued(ms),
    }),
    // `/use` wins over the router: a persona switched to another model is not routed.
    ...(room.routeAfterTool && languageModel.modelId === model.configuredModel
      ? { modelAfterTool: (tool: string) => routedWithSlot(room, languageModel, tool, replyId, persona, stats) }
      : {}),
    tools: offered.tools,
    approve: toolApproval({
      persona,
      policy: offered.policy,
      tools: offered.tools,
      ceiling: reply.ceiling,
      approver: room.approver,
      context: { replyId, signal: turn.signal },
      onNotice: (message) => emit({ type: "notice", persona, reason: "approval", message }),
      secrets: room.secrets,
      configFile: room.configFile,
      outsideWords: () => turn.outsideWords.of(persona),
    }),
    onOutsideWords: (words, tool) => turn.outsideWords.read(persona, words, tool),
    toolContext: {
      workspaceDir: room.workspaceDir,
      sessionId: room.sessionId,
      persona,
      secrets: room.secrets,
      ...(room.outboundSecrets ? { outboundSecrets: room.outboundSecrets } : {}),
      ...(room.audit ? { audit: room.audit } : {}),
      sandbox: room.sandbox,
      sandboxPolicy: room.sandboxPolicy,
      workspaceCopies: room.workspaceCopies,
      ...(room.workspaceWrite ? { workspaceWrite: workspaceWriter(room.workspaceWrite, writeReply(model, turn, replyId, reply.ceiling)) } : {}),
      // A question a tool leaves behind (the browser's egress guard, for a connection Chromium makes after the call ended)
      // is withdrawn when the reply ends: nobody waits for its answer, and the terminal's line is wanted for the prompt.
      askPerson: personAsker(room, persona, replyId, AbortSignal.any([turn.signal, reply.over])),
    },
    maxRounds: room.limits.toolRoundsPerTurn,
    maxToolCalls: room.limits.toolCallsPerReply,
    maxReplyChars: room.limits.replyChars,
    budget: room.budget,
    toolTime: turn.toolTime,
    report,
    reportUsage: (usage) => stats.usage(usage),
    prompt: room.promptKeeping(persona),
  };
}

/**
 * A tool's own question to the person (web_request to a host not listed), through the room's approvals like any call's:
 * the call shown redacted, its preview, and what "always" allows; denied at once when nobody can answer.
 */
function personAsker(room: ReplyRoom, persona: string, replyId: string, signal: AbortSignal): AskPerson {
  let asked = 0;
  return async (question) => {
    if (!room.approver.canAsk())
      return { denied: "nobody can answer an approval question here (over HTTP with nobody watching, or a run without a terminal)" };
    asked += 1;
    const call = {
      id: question.call.id ?? `${replyId}-q${asked}`,
      name: question.call.name,
      arguments: redactValue(question.call.arguments, room.secrets),
      preview: redact(question.preview, room.secrets),
    };
    const asking = question.signal ? AbortSignal.any([signal, question.signal]) : signal;
    return room.approver.ask(persona, call, { replyId, signal: asking, always: question.always });
  };
}

/** The reply a workspace change is decided for: its persona's own `workspace_write` policy, and a hop's ceiling. */
function writeReply(model: Persona, turn: ReplyTurn, replyId: string, ceiling: DecidingPolicy | undefined): WorkspaceWriteReply {
  const personaPolicy = model.toolPolicy[WORKSPACE_WRITE];
  return {
    persona: model.name,
    turnId: turn.turnId,
    replyId,
    signal: turn.signal,
    outsideWords: () => turn.outsideWords.of(model.name),
    ...(personaPolicy ? { personaPolicy } : {}),
    ...(ceiling ? { ceiling } : {}),
  };
}

/**
 * A reply that threw: it keeps what streamed, counts it against the budget when the server sent no usage,
 * and says why once. Returns the reason.
 */
function replyFailed(
  room: ReplyRoom,
  turn: ReplyTurn,
  reply: { persona: string; replyId: string; streamed: string },
  stats: ReplyStatsRecorder,
  error: unknown,
): string {
  const { persona, replyId, streamed } = reply;
  // A broken stream sends no usage; count what arrived (about four characters a token) against the budget.
  const estimated = Math.ceil(streamed.length / 4);
  if (stats.completionTokens === 0 && estimated > 0) {
    stats.usage({ promptTokens: 0, completionTokens: estimated });
    room.budget.recordUsage({ promptTokens: 0, completionTokens: estimated });
  }
  const failed = error instanceof Error ? error.message : String(error);
  // Stopped by the user (Ctrl-C, a client gone): whatever threw, it is one kind, so it is reported once.
  const kind = turn.signal.aborted
    ? "aborted"
    : error instanceof ChatError
      ? error.kind
      : error instanceof BudgetExceededError
        ? "budget"
        : undefined;
  turn.errors.push({ persona, message: failed });
  const transient = !turn.signal.aborted && error instanceof ChatError ? retryHint(error) : {};
  room.emit({ type: "error", persona, replyId, message: failed, ...(kind ? { kind } : {}), ...transient });
  return failed;
}

/** What a model error says about trying again: `retryable` as `ChatError` decides it, and a Retry-After when it carries one. */
/** The model routed for the round after `tool`'s result, holding its own server's request slot like the persona's. */
function routedWithSlot(
  room: ReplyRoom,
  base: LanguageModel,
  tool: string,
  replyId: string,
  persona: string,
  stats: ReplyStatsRecorder,
): LanguageModel | undefined {
  const routed = room.routeAfterTool?.(tool, base);
  if (!routed) return undefined;
  return withServerSlot(routed, room.slots(routed.server), {
    onQueued: () => room.emit({ type: "waiting", replyId, persona, ...modelWait("queued", routed.server) }),
    onWaited: (ms) => stats.queued(ms),
  });
}

function retryHint(error: ChatError): { retryable: boolean; retryAfterMs?: number } {
  const retryAfterMs = error.retryAfterMs;
  return { retryable: error.retryable, ...(retryAfterMs !== undefined && error.retryable ? { retryAfterMs } : {}) };
}

/** The finished reply as the room keeps it, redacted: what a server sent may hold a key it was given. */
function replyMessage(
  room: ReplyRoom,
  reply: { persona: string; replyId: string; turnId: string; mode: RoomMode },
  outcome: ReplyOutcome,
  toolRuns: RoomToolRun[],
  failedReason: string | undefined,
): RoomMessage {
  const { persona } = reply;
  const text = redact(outcome.text, room.secrets);
  const failed = failedReason === undefined ? undefined : redact(failedReason, room.secrets);
  const addressed = failed !== undefined ? [] : (outcome.addressed ?? findMentions(text, room.names)).filter((name) => name !== persona);
  return {
    id: reply.replyId,
    turnId: reply.turnId,
    from: persona,
    text,
    time: new Date().toISOString(),
    heardBy: room.heardBy(persona, addressed),
    addressed,
    ...(failed !== undefined ? { failed } : {}),
    ...(reply.mode.kind === "file" ? { file: reply.mode.path } : {}),
    ...(toolRuns.length > 0 ? { tools: redactValue(toolRuns, room.secrets) } : {}),
  };
}

/** Appends a reply meant for a file to it; a refusal or failure is said and the reply stays in the transcript. */
function deliverToFile(room: ReplyRoom, turn: ReplyTurn, message: RoomMessage & { file: string }): void {
  const persona = message.from;
  try {
    const bytes = appendReplyToFile(room.workspaceDir, message, room.protectedFiles);
    room.emit({ type: "file-written", replyId: message.id, persona, path: message.file, bytes });
  } catch (error) {
    const reason =
      `${persona}'s reply was not written to ${message.file}: ` +
      `${error instanceof Error ? error.message : String(error)} The reply is kept in the transcript.`;
    turn.errors.push({ persona, message: reason });
    if (error instanceof UnsafeWriteError) room.emit({ type: "notice", persona, reason: "file-refused", message: reason });
    else room.emit({ type: "error", persona, replyId: message.id, message: reason });
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
  model: Persona,
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
  emit({
    type: "reply-start",
    turnId: turn.turnId,
    replyId,
    persona,
    model: model.modelId,
    hop,
    destination: mode.kind === "file" ? formatRoomMode(mode) : "console",
  });
  // A persona asked by one that took words from outside may be carrying them on: its calls that act are asked too.
  if (trigger.from !== "user") turn.outsideWords.passOn(trigger.from, persona);
  const offered = await toolsFor(room, model, trigger, turn.signal, replyId);
  const { report, record } = replyReporter({ replyId, persona, server: model.languageModel.server }, stats, emit);
  const over = new AbortController();
  const host = replyHost(room, turn, { model, trigger, replyId, ceiling, over: over.signal }, offered, stats, report);

  let outcome: ReplyOutcome;
  let failed: string | undefined;
  try {
    outcome = await model.respond(host);
  } catch (error) {
    outcome = { text: record.streamed };
    failed = replyFailed(room, turn, { persona, replyId, streamed: record.streamed }, stats, error);
  } finally {
    over.abort(new Error("the reply ended"));
  }

  const message = replyMessage(room, { persona, replyId, turnId: turn.turnId, mode }, outcome, record.toolRuns, failed);
  if (failed === undefined) {
    // A failed last sandboxed run counts even when the model then explained it: the work did not get done.
    const unfinished = outcome.stopped ?? (record.lastSandboxedFailed ? "tool-failed" : undefined);
    if (unfinished !== undefined) turn.incomplete.push({ persona, replyId, reason: unfinished });
  }
  if (message.file !== undefined && message.text !== "") deliverToFile(room, turn, { ...message, file: message.file });
  room.record(message);
  emit({ type: "message", persona, message });

  const replyStats = stats.finish();
  const total = turn.stats[persona] ?? emptyStats();
  turn.stats[persona] = total;
  addStats(total, replyStats);
  emit({ type: "reply-end", replyId, persona, ok: failed === undefined, stats: replyStats });
  return message;
}
