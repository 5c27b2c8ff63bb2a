import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import type { Persona } from "../personas/persona.ts";
import type { ChangeRecord } from "../workspace/change-journal.ts";
import { scanForSecrets, type SecretScan } from "../security/scan-for-secrets.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { switchModel } from "./switch-model.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import type { RoomEvent, TurnSummary } from "./room-event.ts";
import { formatRoomMode, parseRoomMode, type RoomMode } from "./room-mode.ts";
import { type AnswerResult, RoomApprovals } from "./room-approvals.ts";
import type { ApprovalAsked, ApprovalChoice } from "./room-event.ts";
import type { RoomStream } from "./room-stream.ts";
import type { PersonaInfo } from "./persona-info.ts";
import { replyScheduler } from "./reply-scheduler.ts";
import { undoChange } from "./undo-change.ts";
import { dropSummariesOfUndone, markTurnUndone } from "./undo-turn.ts";
import { type CompactionOutcome, RoomCompactions } from "./compactions.ts";
import { type ContextReport, contextReport } from "./context-report.ts";
import { serverSlots } from "./server-slots.ts";
import type { RoomOptions } from "./room-options.ts";
import { roomCore, type RoomCore } from "./room-core.ts";
import { roomEvents } from "./room-events.ts";
import { prepareOfferedTools, releaseTools, type RoomTools, roomTools } from "./room-tools.ts";
import { heardBy } from "./heard-by.ts";
import { replyRoomOf } from "./reply-room-of.ts";
import { roomTurns, type SendOptions } from "./room-turns.ts";
import { followToolFeed } from "./follow-tool-feed.ts";
import { offerPromotedTools } from "./offer-promoted-tools.ts";
import { OrgError } from "../errors/org-error.ts";

/** A persona name the room does not know; the message lists the ones it does. */
export class UnknownPersonaError extends OrgError {
  override name = "UnknownPersonaError";
}

export type { TranscriptIndex } from "./memory-indexer.ts";
export type { CredentialChoice } from "./send-turn.ts";

/** The models one server offers, or why it could not say. */
export type ServerModels = { server: string; models: string[] } | { server: string; error: string };

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
   * `/compact [focus]`: summarises each persona's heard messages but its newest two (or only `persona`'s) into its
   * summary now, `focus` saying what to keep above all; a `compaction` event per summary, a notice for one that failed.
   */
  compact(request?: { persona?: string; focus?: string; signal?: AbortSignal }): Promise<CompactionOutcome[]>;
  /** `/context`: what `persona`'s next prompt holds, part by part, in tokens (nothing is sent). */
  context(persona: string, signal?: AbortSignal): Promise<ContextReport>;
  /** Waits for the summaries being written in the background (a test, `chat --once` before it exits). */
  compactionsSettled(): Promise<void>;
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

/** `/undo`: reverts the newest applied change under the rules a change is checked by, marks the turn that made it undone, and says so. */
function undoInRoom(core: RoomCore, emit: (event: RoomEvent) => void, force: boolean): ChangeRecord {
  const { record, events } = undoChange(core.workspaceDir, { force, rules: core.changeRules });
  markTurnUndone(core.state.history, record.replyId, record.id);
  dropSummariesOfUndone(core.state.history, core.state.summaries, record.replyId);
  for (const event of events) emit(event);
  return record;
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
    state.mode = parseRoomMode(next, names, core.workspaceDir, core.protectedFiles, core.replyFileGuard);
    emit({ type: "mode", mode: formatRoomMode(state.mode), by });
  };
  const tools = roomTools(core, setMode);
  const stopFeed = followToolFeed(core, tools, emit);
  if (options.prepareTools !== false) prepareOfferedTools(core, tools);
  const approvals = roomApprovals(core, emit);
  const slots = options.serverSlots ?? serverSlots(config);
  const compactions = new RoomCompactions(core, emit, slots);
  const replyRoom = replyRoomOf(core, emit, tools, approvals, { slots, compactions });
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
    clear: () => clearRoom(core, emit),
    ...compactionCommands(core, compactions, tools),
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
      await compactions.close();
      await releaseTools(core, tools);
      // The session's private copy of the workspace (write view) becomes the spare the next session starts from.
      core.options.workspaceCopies.release(core.workspaceDir, core.sessionId);
      events.close();
    },
  };
}

/** `/clear`: forgets the conversation and every summary of it (the transcript keeps both). */
function clearRoom(core: RoomCore, emit: (event: RoomEvent) => void): void {
  core.state.history = [];
  core.state.summaries.clear();
  emit({ type: "cleared" });
}

/** `/compact` and `/context` on the room's personas, and the wait for the summaries being written. */
function compactionCommands(
  core: RoomCore,
  compactions: RoomCompactions,
  tools: RoomTools,
): Pick<Room, "compact" | "context" | "compactionsSettled"> {
  const { byName, names, state } = core;
  const persona = (name: string) => {
    const found = byName.get(name);
    if (!found) throw new UnknownPersonaError(`there is no persona "${name}". Personas: ${names.join(", ")}.`);
    return found;
  };
  return {
    compact: (request = {}) => {
      const named = request.persona === undefined ? undefined : persona(request.persona).name;
      const chosen = named !== undefined ? [named] : state.mode.kind === "direct" ? [state.mode.persona] : names;
      const focus = request.focus ? { focus: request.focus } : {};
      return Promise.all(chosen.map((name) => compactions.compact(name, { ...focus, ...(request.signal ? { signal: request.signal } : {}) })));
    },
    context: (name, signal) => {
      const model = persona(name);
      const definitions = [...tools.forModel(model).values()].map((tool) => tool.definition);
      const keeping = compactions.keeping(name);
      return contextReport(model, { history: state.history, roomPersonas: names, keeping, tools: definitions, ...(signal ? { signal } : {}) });
    },
    compactionsSettled: () => compactions.settled(),
  };
}

/** `Room.useModel`: switches a persona's model after asking its server; UnknownPersonaError names the personas. */
async function useModel(
  core: RoomCore,
  emit: (event: RoomEvent) => void,
  asked: { persona: string; modelId: string; signal: AbortSignal | undefined },
) {
  const model = core.byName.get(asked.persona);
  if (!model) throw new UnknownPersonaError(`there is no persona "${asked.persona}". Personas: ${core.names.join(", ")}.`);
  await switchModel(model, asked.modelId, { signal: asked.signal, emit });
}

/** The room's approval questions: asked of the console (`approve`) and of the stream's watchers (`remoteApprovals`). */
function roomApprovals(core: RoomCore, emit: (event: RoomEvent) => void): RoomApprovals {
  const { approve, remoteApprovals, alwaysAllowed } = core.options;
  return new RoomApprovals({
    emit,
    idPrefix: core.sessionId.slice(-6),
    ...(approve ? { local: approve } : {}),
    ...(remoteApprovals ? { remote: remoteApprovals } : {}),
    ...(alwaysAllowed ? { always: alwaysAllowed } : {}),
  });
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
