import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { Budget } from "../security/budget.ts";
import type { ToolCall } from "../llm/chat-types.ts";
import { createModel } from "../models/create-model.ts";
import type { ToolsmithJob } from "../models/toolsmith-model.ts";
import type { Model } from "../models/model.ts";
import { authorizationFor, CONFIG_FILE_NAME, type OrgConfig, OrgConfigError, serverConcurrency } from "../config/org-config.ts";
import { ToolTimeBudget } from "../security/tool-time-budget.ts";
import { EventRedactor } from "../security/event-redactor.ts";
import { REDACTED, redact, scanForSecrets } from "../security/redact.ts";
import { codePolicyOf, type DecidingPolicy, stricterDeciding } from "../security/policy.ts";
import { chatModeTool } from "../tools/chat-mode.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import type { TurnToolChoice } from "./turn-tool-choice.ts";
import { findMentions, unknownMentions } from "./mentions.ts";
import { type ReplyRoom, runReply } from "./run-reply.ts";
import { switchModel } from "./switch-model.ts";
import type { RoomMessage } from "../models/room-message.ts";
import type { IncompleteReply, PersonaStats, RoomEvent, TurnSummary } from "./room-event.ts";
import { formatRoomMode, parseRoomMode, type RoomMode, RoomModeError } from "./room-mode.ts";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { newSessionId, resolveSessionId, resume, Transcript, type TranscriptLine } from "./transcript.ts";
import type { ApprovalAnswer } from "./tool-approval.ts";
import { ensurePrivateDir } from "../security/private-state.ts";

export { RoomModeError } from "./room-mode.ts";

/** A persona name the room does not know; the message lists the ones it does. */
export class UnknownPersonaError extends Error {
  override name = "UnknownPersonaError";
}

/** Keeps a searchable copy of every transcript line (memory): told each line once it is on disk. */
export type TranscriptIndex = {
  index(sessionId: string, line: TranscriptLine): void;
  /** What it has to say since last asked (a database it had to rebuild). */
  takeNotices(): string[];
};

/**
 * What to do with a user message that holds what looks like a credential: `redact` (the default) sends it
 * with `[REDACTED]` in place of each and says so; `as-written` sends it whole to the personas (the user chose
 * so at the console's question), while the transcript and memory still keep it redacted.
 */
export type CredentialChoice = "redact" | "as-written";

export type RoomOptions = {
  config: OrgConfig;
  workspaceDir: string;
  /** Built-in tools (sh, python_run, …); the room adds `chat_mode` itself. */
  tools: AnyTool[];
  audit?: AuditSink;
  /** Per-turn choice among many generated tools (the registry's); without it every allowed tool is offered. */
  toolChoice?: TurnToolChoice;
  /** Asked for tools a persona's policy marks "ask"; without it those calls are denied. */
  approve?: (persona: string, call: ToolCall) => Promise<ApprovalAnswer>;
  /** Default `<workspaceDir>/.org/sessions`. */
  sessionsDir?: string;
  /** A session id, or true for the latest session. */
  resume?: string | true;
  /** A new session's earlier conversation (e.g. an OpenAI client's `messages`); ignored when resuming. */
  history?: RoomMessage[];
  /** The toolsmith's pipeline, run when someone asks the toolsmith for a tool; without it the toolsmith says it cannot. */
  toolsmithJob?: ToolsmithJob;
  /** Request slots per model server; pass one `serverSlots(config)` to several rooms to share them (default: the room's own). */
  serverSlots?: (baseUrl: string) => FifoSemaphore;
  /** Memory's index; a failure to index never touches the transcript or the room: it becomes a notice. */
  memory?: TranscriptIndex;
  onEvent: (event: RoomEvent) => void;
};

export type PersonaInfo = { name: string; kind: string; model: string; baseUrl: string; tools: string[]; color?: string };

export type Room = {
  readonly sessionId: string;
  readonly mode: RoomMode;
  readonly transcriptPath: string;
  personas(): PersonaInfo[];
  /** One user message: every addressed persona answers concurrently, hops follow; resolves when all are done. */
  send(text: string, options?: { signal?: AbortSignal; credentials?: CredentialChoice }): Promise<TurnSummary>;
  /** Throws RoomModeError whose message lists the valid modes or says why a path is refused. */
  setMode(mode: string): void;
  /**
   * Switches a persona's model after checking the server's /v1/models; ModelNotAvailableError lists what is
   * there. A server that answers without a model list gets the switch anyway, with a notice.
   */
  useModel(persona: string, model: string, signal?: AbortSignal): Promise<void>;
  history(): RoomMessage[];
  clear(): void;
  close(): Promise<void>;
};

type Turn = {
  turnId: string;
  signal: AbortSignal;
  repliesBy: Map<string, number>;
  pending: Set<Promise<void>>;
  stats: Record<string, PersonaStats>;
  messages: RoomMessage[];
  errors: { persona?: string; message: string }[];
  /** Tool time the whole user message may spend, shared by every reply it sets off. */
  toolTime: ToolTimeBudget;
  incomplete: IncompleteReply[];
};

/** Request slots per model server base URL, each sized by the config (`servers[url].concurrency`, else the limit). */
export function serverSlots(config: OrgConfig): (baseUrl: string) => FifoSemaphore {
  const slots = new Map<string, FifoSemaphore>();
  return (baseUrl) => {
    let found = slots.get(baseUrl);
    if (!found) {
      found = new FifoSemaphore(serverConcurrency(config, baseUrl));
      slots.set(baseUrl, found);
    }
    return found;
  };
}

/** Opens a room: personas from the config, a new or resumed transcript, and the tools each persona may use. */
export async function openRoom(options: RoomOptions): Promise<Room> {
  const { config, workspaceDir } = options;
  const sessionsDir = options.sessionsDir ?? join(workspaceDir, SESSIONS_DIR);
  // Replies in file mode never go over org's config file (the default name, and the file actually read).
  const protectedFiles = [CONFIG_FILE_NAME, ...(config.source ? [config.source] : [])];
  const models: Model[] = config.personas.map((persona) =>
    createModel(persona, options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
  );
  const names = models.map((model) => model.name);
  const byName = new Map(models.map((model) => [model.name, model]));
  const slotsFor = options.serverSlots ?? serverSlots(config);
  // One budget for the session's tokens; each reply counts its own tool rounds against it (Budget.startTurn).
  const budget = new Budget({ maxSessionTokens: config.limits.sessionTokens });

  let sessionId: string;
  let mode: RoomMode;
  let history: RoomMessage[] = [];
  let damagedNotice: string | undefined;
  if (options.resume !== undefined) {
    ensurePrivateDir(sessionsDir);
    sessionId = resolveSessionId(sessionsDir, options.resume);
    const restored = resume(sessionsDir, sessionId);
    history = restored.history;
    if (restored.damagedLines > 0) damagedNotice = describeDamage(sessionId, restored.damagedLines, restored.damagedLineNumbers);
    for (const [persona, model] of Object.entries(restored.models)) {
      const found = byName.get(persona);
      if (found) {
        found.modelId = model;
        found.modelSource = "/use (earlier in this session)";
      }
    }
    budget.recordUsage({ promptTokens: restored.tokensUsed, completionTokens: 0 });
    try {
      mode = parseRoomMode(restored.mode, names, workspaceDir, protectedFiles);
    } catch {
      mode = { kind: "group" }; // the config changed since (a persona is gone): fall back rather than refuse to resume
    }
  } else {
    sessionId = newSessionId();
    history = [...(options.history ?? [])];
    try {
      mode = parseRoomMode(config.mode, names, workspaceDir, protectedFiles);
    } catch (error) {
      if (!(error instanceof RoomModeError)) throw error;
      const file = config.source ?? "the configuration";
      throw new OrgConfigError(`${file}, key mode: ${error.message}`, file, undefined, "mode");
    }
  }
  // Memory indexes each line once it is written; whatever goes wrong there is said once, never thrown.
  let memoryFailed = false;
  const memory = options.memory;
  const onLine = memory
    ? (line: TranscriptLine) => {
        let said: string[] = [];
        try {
          memory.index(sessionId, line);
          said = memory.takeNotices();
        } catch (error) {
          if (!memoryFailed) {
            said = [
              `memory could not index this session (${error instanceof Error ? error.message : String(error)}); the transcript keeps every event, and 'org memory rebuild' indexes it again.`,
            ];
          }
          memoryFailed = true;
        }
        if (said.length > 0) queueMicrotask(() => said.forEach((message) => emit({ type: "notice", reason: "memory", message })));
      }
    : undefined;
  const transcript = Transcript.open(sessionsDir, sessionId, { personas: names, mode: formatRoomMode(mode) }, onLine ? { onLine } : {});
  const closing = new AbortController();
  const turns = new Set<Promise<unknown>>();
  const personaQueues = new Map<string, Promise<void>>();
  let closed = false;
  let counter = 0;

  // Every room event passes the EventRedactor before anyone sees it (docs/ARCHITECTURE.md, "Redaction points").
  const redactor = new EventRedactor(config.secrets);
  const deliver = (event: RoomEvent) => {
    transcript.append(event);
    try {
      options.onEvent(event);
    } catch {
      // A broken listener must not break the room; the transcript still has the event.
    }
  };
  const emit = (event: RoomEvent) => {
    for (const safe of redactor.pass(event)) deliver(safe);
  };

  // Said once the room is open: a resumed session whose transcript had lines that could not be used.
  if (damagedNotice !== undefined) emit({ type: "notice", reason: "damaged-transcript", message: damagedNotice });

  const setMode = (next: string, by = "user") => {
    mode = parseRoomMode(next, names, workspaceDir, protectedFiles);
    emit({ type: "mode", mode: formatRoomMode(mode), by });
  };
  const modeHandle = {
    get mode() {
      return formatRoomMode(mode);
    },
    personas: names,
    setMode,
  };
  const builtins = new Map<string, AnyTool>();
  for (const tool of options.tools) builtins.set(tool.name, tool);
  builtins.set("chat_mode", chatModeTool(modeHandle));

  const offeredTools = (model: Model) =>
    Object.entries(model.toolPolicy)
      .filter(([name, policy]) => policy !== "deny" && builtins.has(name))
      .map(([name]) => name);

  const heardByFor = (speaker: string, mentions: string[]) => {
    if (mode.kind === "direct") return [...new Set([mode.persona, ...mentions, ...(speaker === "user" ? [] : [speaker])])];
    return [...names];
  };

  /**
   * What a persona answers from: the room up to the message it answers, with that message last. Replies
   * that others gave meanwhile stay out (a queued persona answers the same thing as one that streamed at
   * once); its own later replies stay in, before the message, so it does not repeat itself.
   */
  function contextFor(persona: string, trigger: RoomMessage): RoomMessage[] {
    const index = history.indexOf(trigger);
    if (index === -1) return history;
    const own = history.slice(index + 1).filter((message) => message.from === persona);
    return [...history.slice(0, index), ...own, trigger];
  }

  const replyRoom: ReplyRoom = {
    emit: (event) => emit(event),
    mode: () => mode,
    names,
    workspaceDir,
    protectedFiles,
    secrets: config.secrets,
    sessionId,
    limits: config.limits,
    budget,
    authorization: (baseUrl) => authorizationFor(config, baseUrl),
    ...(options.audit ? { audit: options.audit } : {}),
    ...(options.approve ? { approve: options.approve } : {}),
    slots: slotsFor,
    tools: (model) => new Map(offeredTools(model).map((name) => [name, builtins.get(name) as AnyTool])),
    ...(options.toolChoice ? { toolChoice: options.toolChoice } : {}),
    context: contextFor,
    heardBy: heardByFor,
    record: (message) => history.push(message),
  };

  // Per persona message of this session: the code policy its hops run under (invariant 12).
  const ceilings = new WeakMap<RoomMessage, DecidingPolicy>();
  const codePolicy = (persona: string): DecidingPolicy =>
    codePolicyOf(persona, byName.get(persona)?.toolPolicy ?? {}, (tool) => builtins.get(tool)?.runsCode ?? false);

  function schedule(turn: Turn, persona: string, hop: number, trigger: RoomMessage): void {
    if (hop > config.limits.hopsPerMessage) {
      emit({
        type: "notice",
        persona,
        reason: "hop-limit",
        message: `${trigger.from} asked ${persona}, but this message already went ${config.limits.hopsPerMessage} hops between personas (limits.hopsPerMessage); ${persona} stays quiet until the user speaks.`,
      });
      return;
    }
    const replies = turn.repliesBy.get(persona) ?? 0;
    if (replies >= config.limits.repliesInARow) {
      emit({
        type: "notice",
        persona,
        reason: "replies-in-a-row",
        message: `${persona} already replied ${replies} times since the user spoke (limits.repliesInARow); it waits for the user.`,
      });
      return;
    }
    turn.repliesBy.set(persona, replies + 1);
    const model = byName.get(persona) as Model;
    const replyId = `${turn.turnId}-${persona}-${replies}`;
    // One reply at a time per persona, so each reply's context has the persona's previous one.
    const previous = personaQueues.get(persona) ?? Promise.resolve();
    const task = previous
      .then(async () => {
        const ceiling = trigger.from === "user" ? undefined : (ceilings.get(trigger) ?? codePolicy(trigger.from));
        const message = await runReply(replyRoom, turn, model, hop, trigger, replyId, ceiling);
        // What this reply asks of others runs under its own code policy, and never above what asked it.
        ceilings.set(message, ceiling ? stricterDeciding(ceiling, codePolicy(persona)) : codePolicy(persona));
        turn.messages.push(message);
        for (const next of message.addressed) schedule(turn, next, hop + 1, message);
      })
      .finally(() => turn.pending.delete(task));
    personaQueues.set(persona, task.catch(() => {}));
    turn.pending.add(task);
  }

  async function send(typed: string, sendOptions: { signal?: AbortSignal; credentials?: CredentialChoice } = {}): Promise<TurnSummary> {
    if (closed) throw new Error("the room is closed; open a new one to go on.");
    // The credential guard: what looks like a key goes to the models only when the user chose so, and
    // never into the transcript or memory.
    const scan = scanForSecrets(typed, config.secrets);
    const asWritten = scan.kinds.length > 0 && sendOptions.credentials === "as-written";
    const text = scan.redacted;
    counter += 1;
    const turnId = `${sessionId.slice(-6)}-${counter}-${crypto.randomUUID().slice(0, 4)}`;
    const mentions = findMentions(text, names);
    const audience = mode.kind === "direct" ? [mode.persona] : [...names];
    // A misspelt @name addresses nobody: the message goes where it would have gone without it, and the user is told.
    const addressed = mentions.length > 0 ? mentions : audience;
    const signal = sendOptions.signal ? AbortSignal.any([sendOptions.signal, closing.signal]) : closing.signal;
    const turn: Turn = {
      turnId,
      signal,
      repliesBy: new Map(),
      pending: new Set(),
      stats: {},
      messages: [],
      errors: [],
      toolTime: new ToolTimeBudget(config.limits.toolSecondsPerTurn),
      incomplete: [],
    };
    emit({ type: "turn-start", turnId, text, mode: formatRoomMode(mode), addressed });
    if (scan.kinds.length > 0) {
      const what = `your message held what looks like ${listed(scan.kinds)}`;
      emit({
        type: "notice",
        reason: "credential-guard",
        message: asWritten
          ? `${what}; it went to the personas as written, as you chose. The transcript and memory keep it redacted.`
          : `${what}; it went to the personas redacted, with ${REDACTED} in its place.`,
      });
    }
    for (const unknown of unknownMentions(text, names)) {
      const hint = unknown.closest ? ` Did you mean @${unknown.closest}?` : ` Personas: ${names.join(", ")}.`;
      emit({
        type: "notice",
        reason: "unknown-persona",
        message: `there is no persona "@${unknown.name}"; the message went to ${addressed.join(", ")}.${hint}`,
      });
    }
    const userMessage: RoomMessage = {
      id: `${turnId}-user`,
      turnId,
      from: "user",
      text: asWritten ? typed : text,
      time: new Date().toISOString(),
      heardBy: heardByFor("user", mentions),
      addressed,
    };
    history.push(userMessage);
    turn.messages.push(userMessage);
    emit({ type: "message", message: { ...userMessage, text } });
    for (const persona of addressed) schedule(turn, persona, 0, userMessage);
    const running = (async () => {
      while (turn.pending.size > 0) await Promise.allSettled([...turn.pending]);
    })();
    turns.add(running);
    try {
      await running;
    } finally {
      turns.delete(running);
    }
    const ok = turn.errors.length === 0;
    emit({ type: "turn-end", turnId, ok, stats: turn.stats, ...(turn.incomplete.length > 0 ? { incomplete: turn.incomplete } : {}) });
    const errors = turn.errors.map((error) => ({ ...error, message: redact(error.message, config.secrets) }));
    return { turnId, ok, messages: turn.messages, stats: turn.stats, errors, incomplete: turn.incomplete };
  }

  async function useModel(persona: string, modelId: string, signal?: AbortSignal): Promise<void> {
    const model = byName.get(persona);
    if (!model) throw new UnknownPersonaError(`there is no persona "${persona}". Personas: ${names.join(", ")}.`);
    await switchModel(model, modelId, { signal, authorization: authorizationFor(config, model.baseUrl), emit });
  }

  return {
    sessionId,
    get mode() {
      return mode;
    },
    transcriptPath: transcript.path,
    personas: () =>
      models.map((model) => ({
        name: model.name,
        kind: model.kind,
        model: model.modelId,
        baseUrl: model.baseUrl,
        tools: offeredTools(model),
        ...(model.color ? { color: model.color } : {}),
      })),
    send,
    setMode: (next: string) => setMode(next, "user"),
    useModel,
    history: () => [...history],
    clear() {
      history = [];
      emit({ type: "cleared" });
    },
    async close() {
      if (closed) return;
      closed = true;
      closing.abort(new Error("the room was closed"));
      await Promise.allSettled([...turns]);
      for (const held of redactor.flush<RoomEvent>()) deliver(held);
      transcript.close();
    },
  };
}

/** "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** What the user is told when a resumed transcript had damaged lines: how many, and where (capped). */
function describeDamage(sessionId: string, count: number, lineNumbers: number[]): string {
  const where = lineNumbers.length < count ? `${lineNumbers.join(", ")} and ${count - lineNumbers.length} more` : lineNumbers.join(", ");
  return `${count} damaged line${count === 1 ? "" : "s"} of session ${sessionId}'s transcript ${count === 1 ? "was" : "were"} skipped (line${count === 1 ? "" : "s"} ${where}); what ${count === 1 ? "it" : "they"} held is missing from the history. A crash mid-write damages at most the last line; more means the file was edited.`;
}
