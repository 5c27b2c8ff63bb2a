import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { Budget } from "../security/budget.ts";
import { createPersona } from "../models/create-persona.ts";
import type { ToolsmithJob } from "../models/toolsmith-persona.ts";
import type { Persona } from "../models/persona.ts";
import { httpModels, type ModelFactory } from "../models/persona-model.ts";
import { CONFIG_FILE_NAME, type OrgConfig, serverConcurrency, type ToolPolicy } from "../config/org-config.ts";
import type { ChangeRecord } from "../workspace/change-journal.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { changeRules } from "./change-rules.ts";
import { EventRedactor } from "../security/event-redactor.ts";
import { scanForSecrets, type SecretScan } from "../security/redact.ts";
import { chatModeTool } from "../tools/chat-mode.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import type { TurnToolChoice } from "./turn-tool-choice.ts";
import type { FedTool, ToolFeed } from "./tool-feed.ts";
import type { ReplyRoom } from "./run-reply.ts";
import { switchModel } from "./switch-model.ts";
import type { RoomMessage } from "../models/room-message.ts";
import type { RoomEvent, TurnSummary } from "./room-event.ts";
import { formatRoomMode, parseRoomMode, type RoomMode } from "./room-mode.ts";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { Transcript } from "./transcript.ts";
import { type AnswerResult, type LocalApprove, type RemoteApprovals, RoomApprovals } from "./room-approvals.ts";
import type { ApprovalAsked, ApprovalChoice } from "./room-event.ts";
import { RoomStream } from "./room-stream.ts";
import type { PersonaInfo } from "./persona-info.ts";
import { memoryIndexer, type TranscriptIndex } from "./memory-indexer.ts";
import { type CredentialChoice, sendTurn, type TurnRoom } from "./send-turn.ts";
import { replyScheduler, type Turn } from "./reply-scheduler.ts";
import { startSession } from "./open-session.ts";
import { undoChange } from "./undo-change.ts";
import { markTurnUndone } from "./undo-turn.ts";
import type { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { mcpExecutedPaths } from "../mcp-client/launch-files.ts";
import { workspaceSecretValues } from "../workspace/secret-values.ts";

export { RoomModeError } from "./room-mode.ts";

/** A persona name the room does not know; the message lists the ones it does. */
export class UnknownPersonaError extends Error {
  override name = "UnknownPersonaError";
}

export type { TranscriptIndex } from "./memory-indexer.ts";
export type { CredentialChoice } from "./send-turn.ts";

export type RoomOptions = {
  config: OrgConfig;
  workspaceDir: string;
  /** Built-in tools (sh, python_run, …); the room adds `chat_mode` itself. */
  tools: AnyTool[];
  /** The names among `tools` that are promoted generated tools: `offerPromotedTools` may take them away again. */
  generated?: readonly string[];
  /** Tools that come and go while the room is open (its MCP servers'), with their notices. */
  toolFeed?: ToolFeed;
  audit?: AuditSink;
  /** The process's sandbox, made where org was assembled: every tool call of the room runs in it. */
  sandbox: Sandbox;
  /** The sandbox policy org was assembled with, handed to every tool call. */
  sandboxPolicy: SandboxPolicy;
  /** The sessions' private copies of the workspace (write view), made where org was assembled; this room's is released when it closes. */
  workspaceCopies: WorkspaceCopies;
  /** Per-turn choice among many generated tools (the registry's); without it every allowed tool is offered. */
  toolChoice?: TurnToolChoice;
  /**
   * The console's approval question, asked for tools a persona's policy marks "ask" (and workspace changes under "ask");
   * its signal aborts when another subscriber answered first. Without it, and without `remoteApprovals`, those calls are denied.
   */
  approve?: LocalApprove;
  /** Answers over the room's stream (serve: whoever watches the session): asked only while `available()`, waited for `timeoutMs`. */
  remoteApprovals?: RemoteApprovals;
  /** The room's stream of events, made where the room is assembled (serve keeps one per session across reopening); a new one by default. */
  stream?: RoomStream;
  /** The workspace_write policy of this entry point, which no persona's policy loosens (serve: serve.tools.workspace_write, default "deny"). */
  workspaceWrite?: ToolPolicy;
  /** Default `<workspaceDir>/.org/sessions`. */
  sessionsDir?: string;
  /** A session id, or true for the latest session. */
  resume?: string | true;
  /** A new session's earlier conversation (e.g. an OpenAI client's `messages`); ignored when resuming. */
  history?: RoomMessage[];
  /** The toolsmith's pipeline, run when someone asks the toolsmith for a tool; without it the toolsmith says it cannot. */
  toolsmithJob?: ToolsmithJob;
  /** Request slots per model server; pass one `serverSlots(config)` to several rooms to share them (default: the room's own). */
  serverSlots?: (server: string) => FifoSemaphore;
  /** The model each persona talks to; default: its OpenAI-compatible server from the config (`httpModels`). */
  models?: ModelFactory;
  /** Memory's index; a failure to index never touches the transcript or the room: it becomes a notice. */
  memory?: TranscriptIndex;
  /**
   * Let each offered tool prepare when the room opens (sh starts its session's sandbox); default true. A room
   * that lives for one request (the OpenAI route) says false: most of its replies call no tool.
   */
  prepareTools?: boolean;
  /** A first subscriber of the room's stream, from its very first event (the console, `chat --json`, a test). */
  onEvent?: (event: RoomEvent) => void;
};

/** The models one server offers, or why it could not say. */
export type ServerModels = { server: string; models: string[] } | { server: string; error: string };

/** How one message is sent: a signal that stops its turn, the credential guard's choice, and who wants the turn's id at once. */
export type SendOptions = {
  signal?: AbortSignal;
  credentials?: CredentialChoice;
  /** Called with the turn's id as the turn starts, before any reply (serve answers with it while the turn runs on). */
  started?: (turnId: string) => void;
};

export type Room = {
  readonly sessionId: string;
  readonly mode: RoomMode;
  readonly transcriptPath: string;
  /** Every event of the room, numbered, to any number of subscribers (the console, serve's SSE, the web room). */
  readonly events: RoomStream;
  personas(): PersonaInfo[];
  /** One user message: every addressed persona answers concurrently, hops follow; resolves when all are done. */
  send(text: string, options?: SendOptions): Promise<TurnSummary>;
  /** Whether a turn is running now. */
  readonly running: boolean;
  /** Stops every running turn's replies (as Ctrl-C does); their open approval questions are answered `stopped`. Returns how many turns. */
  stop(reason?: string): number;
  /** The approval questions waiting for an answer. */
  pendingApprovals(): ApprovalAsked[];
  /** An answer to an approval question from a subscriber (`by`: `http`, a client's label); the first answer wins, later ones are refused. */
  answerApproval(approvalId: string, answer: ApprovalChoice, by: string): AnswerResult;
  /** Writes the streamed text the transcript still holds, so the file has every event up to `events.lastSeq`. */
  flushTranscript(): void;
  /** Throws RoomModeError whose message lists the valid modes or says why a path is refused. */
  setMode(mode: string): void;
  /**
   * Switches a persona's model after checking the server's /v1/models; ModelNotAvailableError lists what is
   * there. A server that answers without a model list gets the switch anyway, with a notice.
   */
  useModel(persona: string, model: string, signal?: AbortSignal): Promise<void>;
  /** What each of the personas' servers offers (asked through the personas' models), or why it cannot say. */
  serverModels(signal: AbortSignal): Promise<ServerModels[]>;
  history(): RoomMessage[];
  /** The diff of the newest workspace change a command made in this room (shown, applied or not); `/diff`. */
  lastDiff(): string | undefined;
  /**
   * `/undo`: reverts the newest applied workspace change (each call one further back) and takes the reply that
   * made it out of the models' context. Throws ChangeConflictError naming files changed since (unless `force`),
   * ChangeJournalError when there is nothing to undo.
   */
  undo(options?: { force?: boolean }): ChangeRecord;
  clear(): void;
  /**
   * The room's inbound credential guard on text from elsewhere (a Telegram message): what `send` would find, with the
   * room's secret set (its keys and the workspace's secret files), before the text goes anywhere.
   */
  scanInbound(text: string): SecretScan;
  /** `/wish TEXT`: records a need for `org grow` in the transcript (a `wish` notice), secrets taken out first. */
  wish(text: string): void;
  /**
   * Takes the promoted tools as they are now (after a promotion or a rollback, while the room is open): a new one
   * is offered to agent personas ("ask" unless the config names it) from the next reply on, a gone one is no
   * longer offered; each change is said as a notice. Returns the names added and removed.
   */
  offerPromotedTools(tools: readonly AnyTool[]): { added: string[]; removed: string[] };
  close(): Promise<void>;
};

/** Request slots per model server (a model's `server`), each sized by the config (`servers[url].concurrency`, else the limit). */
export function serverSlots(config: OrgConfig): (server: string) => FifoSemaphore {
  const slots = new Map<string, FifoSemaphore>();
  return (server) => {
    let found = slots.get(server);
    if (!found) {
      found = new FifoSemaphore(serverConcurrency(config, server));
      slots.set(server, found);
    }
    return found;
  };
}

/** What the parts of a room share: its personas and where it keeps things, and the state that changes. */
type RoomCore = {
  /** The diff of the newest workspace change a command made here, for `/diff`. */
  lastDiff?: string;
  options: RoomOptions;
  config: OrgConfig;
  workspaceDir: string;
  protectedFiles: string[];
  /** What a workspace change (or its undo) may not touch: protected and secret paths, sizes. */
  changeRules: ReturnType<typeof changeRules>;
  models: Persona[];
  names: string[];
  byName: Map<string, Persona>;
  budget: Budget;
  sessionId: string;
  state: { mode: RoomMode; history: RoomMessage[] };
  /** Said once the room is open: a resumed session whose transcript had lines that could not be used. */
  damagedNotice?: string;
  /** The promoted generated tools offered now, by name. */
  generated: Set<string>;
  /** The tools of `toolFeed` offered now, by name, and the personas whose policy for each the feed set. */
  fed: Map<string, Set<Persona>>;
};

/** The personas, their models and the session (new or resumed) a room starts from. */
function roomCore(options: RoomOptions, sessionsDir: string): RoomCore {
  const { config, workspaceDir } = options;
  // Replies in file mode never go over org's config file (the default name, and the file actually read).
  const protectedFiles = [CONFIG_FILE_NAME, ...(config.source ? [config.source] : [])];
  const languageModel = options.models ?? httpModels(config);
  const models: Persona[] = config.personas.map((persona) =>
    createPersona(persona, languageModel(persona), options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
  );
  const byName = new Map(models.map((model) => [model.name, model]));
  // One budget for the session's tokens; each reply counts its own tool rounds against it (Budget.startTurn).
  const budget = new Budget({ maxSessionTokens: config.limits.sessionTokens });
  const start = startSession({
    config,
    workspaceDir,
    sessionsDir,
    protectedFiles,
    byName,
    budget,
    ...(options.resume !== undefined ? { resume: options.resume } : {}),
    ...(options.history ? { history: options.history } : {}),
  });
  // What the workspace's secret files and git configs hold joins the room's secrets: a value hidden from the agents'
  // views may still come back another way (a committed .env through `git show`), and is redacted there too.
  const secrets = [...new Set([...config.secrets, ...workspaceSecretValues(workspaceDir, options.sandboxPolicy.secretPaths, options.workspaceCopies)])];
  const core = {
    options,
    config: { ...config, secrets },
    workspaceDir,
    protectedFiles,
    changeRules: changeRules(config, workspaceDir, options.sandboxPolicy.secretPaths),
    models,
    names: models.map((model) => model.name),
    byName,
    budget,
  };
  return {
    ...core,
    sessionId: start.sessionId,
    state: { mode: start.mode, history: start.history },
    ...(start.damagedNotice ? { damagedNotice: start.damagedNotice } : {}),
    generated: new Set(options.generated ?? []),
    fed: new Map(),
  };
}

/**
 * The room's events: where whatever a model or server said is redacted before anyone sees it
 * (docs/ARCHITECTURE.md, "Redaction points"; invariant 11), then appended to the transcript (which memory indexes) and handed to the listener.
 */
function roomEvents(core: RoomCore, sessionsDir: string) {
  const redactor = new EventRedactor(core.config.secrets);
  const stream = core.options.stream ?? new RoomStream();
  const { onEvent } = core.options;
  // Subscribed before the room says anything, so this listener gets every event; a broken one never breaks the room.
  const unsubscribe = onEvent ? stream.subscribe((frame) => frame.kind === "event" && onEvent(frame.event)) : undefined;
  // The transcript first, then the stream: whoever reads the file after the stream's number N finds every event up to N.
  const deliver = (event: RoomEvent) => {
    transcript.append(event);
    stream.publish(event);
  };
  const emit = (event: RoomEvent) => {
    for (const safe of redactor.pass(event)) deliver(safe);
  };
  const memory = core.options.memory;
  const onLine = memory ? memoryIndexer(memory, core.sessionId, (message) => emit({ type: "notice", reason: "memory", message })) : undefined;
  const header = { personas: core.names, mode: formatRoomMode(core.state.mode) };
  const transcript = Transcript.open(sessionsDir, core.sessionId, header, onLine ? { onLine } : {});
  return {
    emit,
    transcript,
    stream,
    close() {
      for (const held of redactor.flush<RoomEvent>()) deliver(held);
      transcript.close();
      unsubscribe?.();
      // A stream made for this room ends with it; one handed in (serve's, kept per session) is its maker's to close.
      if (!core.options.stream) stream.close();
    },
  };
}

/** The built-in tools by name, with the room's own `chat_mode`; and what a persona's policy lets it use of them. */
function roomTools(core: RoomCore, setMode: (next: string, by?: string) => void) {
  const modeHandle = {
    get mode() {
      return formatRoomMode(core.state.mode);
    },
    personas: core.names,
    setMode,
  };
  const builtins = new Map<string, AnyTool>();
  // The first tool of a name wins: a promoted tool named like a built-in never takes its place.
  for (const tool of core.options.tools) if (!builtins.has(tool.name)) builtins.set(tool.name, tool);
  builtins.set("chat_mode", chatModeTool(modeHandle));
  const offered = (model: Persona) =>
    Object.entries(model.toolPolicy)
      .filter(([name, policy]) => policy !== "deny" && builtins.has(name))
      .map(([name]) => name);
  const forModel = (model: Persona) => {
    const tools = new Map<string, AnyTool>();
    for (const name of offered(model)) {
      const tool = builtins.get(name);
      if (tool) tools.set(name, tool);
    }
    return tools;
  };
  return { builtins, offered, forModel };
}

/** Lets each tool some persona may use do its work ahead of the first call (the sh tool starts its sandbox). */
function prepareOfferedTools(core: RoomCore, tools: ReturnType<typeof roomTools>): void {
  const offered = new Set(core.models.flatMap((model) => tools.offered(model)));
  for (const name of offered)
    tools.builtins.get(name)?.prepare?.({
      workspaceDir: core.workspaceDir,
      sessionId: core.sessionId,
      sandbox: core.options.sandbox,
      sandboxPolicy: core.options.sandboxPolicy,
      workspaceCopies: core.options.workspaceCopies,
    });
}

/** Who hears a message: in direct mode the persona, whoever is named and the speaker; else everyone. */
function heardBy(core: RoomCore, speaker: string, mentions: string[]): string[] {
  const { mode } = core.state;
  if (mode.kind === "direct") return [...new Set([mode.persona, ...mentions, ...(speaker === "user" ? [] : [speaker])])];
  return [...core.names];
}

/**
 * What a persona answers from: the room up to the message it answers, with that message last. Replies
 * that others gave meanwhile stay out (a queued persona answers the same thing as one that streamed at
 * once); its own later replies stay in, before the message, so it does not repeat itself.
 */
function contextFor(history: RoomMessage[], persona: string, trigger: RoomMessage): RoomMessage[] {
  const index = history.indexOf(trigger);
  const kept = (messages: RoomMessage[]) => messages.filter((message) => message.undone === undefined);
  if (index === -1) return kept(history);
  const own = history.slice(index + 1).filter((message) => message.from === persona);
  return kept([...history.slice(0, index), ...own, trigger]);
}

/** What a reply needs of the room (run-reply.ts). */
function replyRoomOf(core: RoomCore, emit: (event: RoomEvent) => void, tools: ReturnType<typeof roomTools>, approvals: RoomApprovals): ReplyRoom {
  const { config, options } = core;
  return {
    emit,
    mode: () => core.state.mode,
    names: core.names,
    workspaceDir: core.workspaceDir,
    protectedFiles: core.protectedFiles,
    configFile: config.source,
    secrets: config.secrets,
    sessionId: core.sessionId,
    limits: config.limits,
    budget: core.budget,
    ...(options.audit ? { audit: options.audit } : {}),
    sandbox: options.sandbox,
    sandboxPolicy: options.sandboxPolicy,
    workspaceCopies: options.workspaceCopies,
    approver: approvals,
    workspaceWrite: {
      workspaceDir: core.workspaceDir,
      sessionId: core.sessionId,
      policy: config.sandbox.workspaceWrite,
      ...(options.workspaceWrite ? { entryPolicy: options.workspaceWrite } : {}),
      secrets: config.secrets,
      protectedPaths: core.changeRules.protectedPaths,
      secretPaths: core.changeRules.secretPaths,
      executedPaths: mcpExecutedPaths(config.mcpServers, core.workspaceDir),
      limits: config.limits,
      approver: approvals,
      emit,
      setLastDiff: (diff) => {
        core.lastDiff = diff;
      },
    },
    slots: options.serverSlots ?? serverSlots(config),
    tools: tools.forModel,
    ...(options.toolChoice ? { toolChoice: options.toolChoice } : {}),
    context: (persona, trigger) => contextFor(core.state.history, persona, trigger),
    heardBy: (speaker, mentions) => heardBy(core, speaker, mentions),
    record: (message) => core.state.history.push(message),
  };
}

/** `/undo`: reverts the newest applied change under the rules a change is checked by, marks the turn that made it undone, and says so. */
function undoInRoom(core: RoomCore, emit: (event: RoomEvent) => void, force: boolean): ChangeRecord {
  const { record, events } = undoChange(core.workspaceDir, { force, rules: core.changeRules });
  markTurnUndone(core.state.history, record.replyId, record.id);
  for (const event of events) emit(event);
  return record;
}

/**
 * The room's turns: each line sent is a turn with its own id, run under the room's closing signal, its own stop
 * signal and the caller's; `stop` stops the running ones, `close` stops them all and waits for every reply they started.
 */
function roomTurns(room: Omit<TurnRoom, "settle">) {
  const closing = new AbortController();
  const turns = new Set<Promise<unknown>>();
  const stops = new Set<AbortController>();
  let counter = 0;
  const settle = async (turn: Turn) => {
    const running = (async () => {
      while (turn.pending.size > 0) await Promise.allSettled([...turn.pending]);
    })();
    turns.add(running);
    try {
      await running;
    } finally {
      turns.delete(running);
    }
  };
  const turnRoom: TurnRoom = { ...room, settle };
  return {
    async send(typed: string, options: SendOptions): Promise<TurnSummary> {
      counter += 1;
      const turnId = `${room.sessionId.slice(-6)}-${counter}-${crypto.randomUUID().slice(0, 4)}`;
      const stop = new AbortController();
      stops.add(stop);
      const signal = AbortSignal.any([stop.signal, closing.signal, ...(options.signal ? [options.signal] : [])]);
      options.started?.(turnId);
      try {
        return await sendTurn(turnRoom, typed, turnId, signal, options.credentials);
      } finally {
        stops.delete(stop);
      }
    },
    get running(): number {
      return stops.size;
    },
    stop(reason: string): number {
      const running = [...stops];
      for (const stop of running) stop.abort(new Error(reason));
      return running.length;
    },
    async close(): Promise<void> {
      closing.abort(new Error("the room was closed"));
      await Promise.allSettled([...turns]);
    },
  };
}

/** Opens a room: personas from the config, a new or resumed transcript, and the tools each persona may use. */
export async function openRoom(options: RoomOptions): Promise<Room> {
  const sessionsDir = options.sessionsDir ?? join(options.workspaceDir, SESSIONS_DIR);
  const core = roomCore(options, sessionsDir);
  const { config, names, byName, sessionId, state } = core;
  const events = roomEvents(core, sessionsDir);
  const { emit } = events;
  if (core.damagedNotice !== undefined) emit({ type: "notice", reason: "damaged-transcript", message: core.damagedNotice });
  const setMode = (next: string, by = "user") => {
    state.mode = parseRoomMode(next, names, core.workspaceDir, core.protectedFiles);
    emit({ type: "mode", mode: formatRoomMode(state.mode), by });
  };
  const tools = roomTools(core, setMode);
  const stopFeed = followToolFeed(core, tools, emit);
  if (options.prepareTools !== false) prepareOfferedTools(core, tools);
  const approvals = roomApprovals(core, emit);
  const replyRoom = replyRoomOf(core, emit, tools, approvals);
  const { schedule } = replyScheduler({ config, byName, builtins: tools.builtins, replyRoom, emit });
  const turns = roomTurns({
    config,
    names,
    sessionId,
    mode: () => state.mode,
    emit,
    heardBy: (speaker: string, mentions: string[]) => heardBy(core, speaker, mentions),
    record: (message: RoomMessage) => state.history.push(message),
    schedule,
  });
  let closed = false;

  async function send(typed: string, sendOptions: SendOptions = {}): Promise<TurnSummary> {
    if (closed) throw new Error("the room is closed; open a new one to go on.");
    return turns.send(typed, sendOptions);
  }

  return {
    sessionId,
    get mode() {
      return state.mode;
    },
    transcriptPath: events.transcript.path,
    events: events.stream,
    get running() {
      return turns.running > 0;
    },
    stop: (reason = "the replies were stopped") => turns.stop(reason),
    pendingApprovals: () => approvals.pending(),
    answerApproval: (approvalId, answer, by) => approvals.answer(approvalId, answer, by),
    flushTranscript: () => events.transcript.flush(),
    personas: () => core.models.map((model) => personaInfo(model, tools.offered(model))),
    send,
    setMode: (next: string) => setMode(next, "user"),
    serverModels: (signal) => serverModels(core.models, signal),
    useModel: (persona, modelId, signal) => useModel(core, emit, { persona, modelId, signal }),
    history: () => [...state.history],
    lastDiff: () => core.lastDiff,
    undo: (undoOptions = {}) => undoInRoom(core, emit, undoOptions.force ?? false),
    offerPromotedTools: (next) => offerPromotedTools(core, tools, emit, next),
    clear() {
      state.history = [];
      emit({ type: "cleared" });
    },
    scanInbound: (text: string) => scanForSecrets(text, config.secrets),
    wish(text: string) {
      const wished = scanForSecrets(text.trim(), config.secrets).redacted;
      if (wished === "") throw new Error("a wish needs words: /wish a tool that converts currencies");
      emit({ type: "notice", reason: "wish", message: wished });
    },
    async close() {
      if (closed) return;
      closed = true;
      stopFeed?.();
      await turns.close();
      // The session's private copy of the workspace (write view) becomes the spare the next session starts from.
      core.options.workspaceCopies.release(core.workspaceDir, core.sessionId);
      events.close();
    },
  };
}

/** `Room.useModel`: switches a persona's model after asking its server; UnknownPersonaError names the personas. */
async function useModel(core: RoomCore, emit: (event: RoomEvent) => void, asked: { persona: string; modelId: string; signal: AbortSignal | undefined }) {
  const model = core.byName.get(asked.persona);
  if (!model) throw new UnknownPersonaError(`there is no persona "${asked.persona}". Personas: ${core.names.join(", ")}.`);
  await switchModel(model, asked.modelId, { signal: asked.signal, emit });
}

/** The room's approval questions: asked of the console (`approve`) and of the stream's watchers (`remoteApprovals`). */
function roomApprovals(core: RoomCore, emit: (event: RoomEvent) => void): RoomApprovals {
  const { approve, remoteApprovals } = core.options;
  return new RoomApprovals({
    emit,
    idPrefix: core.sessionId.slice(-6),
    ...(approve ? { local: approve } : {}),
    ...(remoteApprovals ? { remote: remoteApprovals } : {}),
  });
}

/** Offers the tool feed's tools (the room's MCP servers') now and on each change, its notices as room notices; returns how to stop. */
function followToolFeed(core: RoomCore, tools: ReturnType<typeof roomTools>, emit: (event: RoomEvent) => void): (() => void) | undefined {
  const feed = core.options.toolFeed;
  if (!feed) return undefined;
  offerFedTools(core, tools, emit, feed.tools());
  return feed.subscribe((change) => {
    if (change.type === "notice") emit({ type: "notice", reason: "mcp", message: change.message });
    else offerFedTools(core, tools, emit, feed.tools());
  });
}

/** `Room.offerPromotedTools`: the room's tools and agents' policies brought to `next`, with a notice per change. */
function offerPromotedTools(
  core: RoomCore,
  tools: ReturnType<typeof roomTools>,
  emit: (event: RoomEvent) => void,
  next: readonly AnyTool[],
): { added: string[]; removed: string[] } {
  const nextNames = new Set(next.map((tool) => tool.name));
  const removed = [...core.generated].filter((name) => !nextNames.has(name));
  for (const name of removed) {
    tools.builtins.delete(name);
    core.generated.delete(name);
  }
  const added: string[] = [];
  for (const tool of next) {
    if (core.generated.has(tool.name)) {
      tools.builtins.set(tool.name, tool);
      continue;
    }
    // A built-in keeps its name; a promoted tool of the same name is never offered (as when the room opens). A server's
    // tool gives the name up: it never takes a promoted tool's, however late the promotion.
    if (tools.builtins.has(tool.name) && !releaseFedName(core, tools, emit, tool.name)) continue;
    tools.builtins.set(tool.name, tool);
    core.generated.add(tool.name);
    added.push(tool.name);
    for (const model of core.models) if (model.kind === "agent" && model.toolPolicy[tool.name] === undefined) model.toolPolicy[tool.name] = "ask";
  }
  for (const name of added) {
    const offeredTo = core.models.filter((model) => tools.offered(model).includes(name));
    const asks = offeredTo.length > 0 && offeredTo.every((model) => model.toolPolicy[name] === "ask");
    const who = offeredTo.length === 0 ? " (no persona's policy offers it)" : asks ? " (asks first)" : "";
    emit({ type: "notice", reason: "tools-changed", message: `new tool: ${name}${who}` });
  }
  for (const name of removed) emit({ type: "notice", reason: "tools-changed", message: `tool gone: ${name} (rolled back)` });
  return { added, removed };
}

/** Takes a fed tool's name away from it (a promoted tool wants it): false when no fed tool holds the name. */
function releaseFedName(core: RoomCore, tools: ReturnType<typeof roomTools>, emit: (event: RoomEvent) => void, name: string): boolean {
  if (!dropFedTool(core, tools, name)) return false;
  emit(nameTakenNotice(name));
  return true;
}

/** Drops the fed tool `name` (its tool and the policies it was given); false when no fed tool holds the name. */
function dropFedTool(core: RoomCore, tools: ReturnType<typeof roomTools>, name: string): boolean {
  const setFor = core.fed.get(name);
  if (!setFor) return false;
  tools.builtins.delete(name);
  for (const model of setFor) delete model.toolPolicy[name];
  core.fed.delete(name);
  return true;
}

function nameTakenNotice(name: string): RoomEvent {
  return { type: "notice", reason: "mcp", message: `mcp: ${name} is not offered: the room has a tool of that name already` };
}

/**
 * The feed's tools as they are now: a new one is offered to agent personas under the policy the feed gives it, unless
 * a persona's config names it (that wins, for that persona); a gone one is no longer offered. A name the room already
 * has (a built-in, a promoted tool) keeps its tool: the fed one is refused with a notice.
 */
function offerFedTools(core: RoomCore, tools: ReturnType<typeof roomTools>, emit: (event: RoomEvent) => void, next: readonly FedTool[]): void {
  const nextNames = new Set(next.map((fed) => fed.tool.name));
  for (const name of [...core.fed.keys()]) if (!nextNames.has(name)) dropFedTool(core, tools, name);
  for (const { tool, policy } of next) {
    const setFor = core.fed.get(tool.name);
    if (setFor) {
      tools.builtins.set(tool.name, tool);
      for (const model of setFor) model.toolPolicy[tool.name] = policy;
      continue;
    }
    if (tools.builtins.has(tool.name)) {
      emit(nameTakenNotice(tool.name));
      continue;
    }
    tools.builtins.set(tool.name, tool);
    const givenTo = new Set<Persona>();
    for (const model of core.models) {
      if (model.kind !== "agent" || model.toolPolicy[tool.name] !== undefined) continue;
      model.toolPolicy[tool.name] = policy;
      givenTo.add(model);
    }
    core.fed.set(tool.name, givenTo);
  }
}

/** A persona as `personas()` shows it: its model, server, and the tools it is offered with their policies. */
function personaInfo(model: Persona, tools: string[]): PersonaInfo {
  return {
    name: model.name,
    kind: model.kind,
    model: model.modelId,
    server: model.languageModel.server,
    tools,
    policies: Object.fromEntries(tools.map((name) => [name, model.toolPolicy[name] === "allow" ? "allow" : "ask"])),
    ...(model.color ? { color: model.color } : {}),
  };
}

/** Asks each server once, through the first persona's model on it. */
function serverModels(models: readonly Persona[], signal: AbortSignal): Promise<ServerModels[]> {
  const byServer = new Map(models.map((model) => [model.languageModel.server, model.languageModel]));
  return Promise.all(
    [...byServer].map(async ([server, languageModel]): Promise<ServerModels> => {
      try {
        return { server, models: await languageModel.listModels(signal) };
      } catch (error) {
        return { server, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}
