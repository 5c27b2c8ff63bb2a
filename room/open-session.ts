import type { OrgConfig } from "../config/org-config.ts";
import { OrgConfigError } from "../config/org-config-error.ts";
import type { Persona } from "../personas/persona.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import type { PromptSummary } from "../personas/prompt-assembly.ts";
import type { Budget } from "../security/budget.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { parseRoomMode, type ReplyFileGuard, type RoomMode, RoomModeError } from "./room-mode.ts";
import { newSessionId, resolveSessionId, resume } from "./transcript.ts";

/** Where a room starts: its session, mode and earlier conversation, and what a resumed transcript lost. */
export type SessionStart = {
  sessionId: string;
  mode: RoomMode;
  history: RoomMessage[];
  /** Each persona's summary of earlier messages, as the transcript's compactions left it. */
  summaries: Record<string, PromptSummary>;
  damagedNotice?: string;
};

export type SessionStartOptions = {
  config: OrgConfig;
  workspaceDir: string;
  sessionsDir: string;
  protectedFiles: string[];
  /** What else the room refuses replies to go to (`room-mode.ts`). */
  replyFileGuard?: ReplyFileGuard;
  /** The room's models by persona name: a resumed session's `/use` choices are put back on them. */
  byName: ReadonlyMap<string, Persona>;
  /** The session's token budget: a resumed session's tokens count against it. */
  budget: Budget;
  resume?: string | true;
  history?: RoomMessage[];
};

/** A resumed session from its transcript, or a new one in the config's mode (a bad mode is the config's error). */
export function startSession(options: SessionStartOptions): SessionStart {
  return options.resume !== undefined ? resumeSession(options, options.resume) : newSession(options);
}

function resumeSession(options: SessionStartOptions, which: string | true): SessionStart {
  const { sessionsDir, byName } = options;
  ensurePrivateDir(sessionsDir);
  const sessionId = resolveSessionId(sessionsDir, which);
  const restored = resume(sessionsDir, sessionId);
  for (const [persona, model] of Object.entries(restored.models)) {
    const found = byName.get(persona);
    if (found) {
      found.languageModel = found.languageModel.withModelId(model, "/use (earlier in this session)");
    }
  }
  options.budget.recordUsage({ promptTokens: restored.tokensUsed, completionTokens: 0 });
  let mode: RoomMode;
  try {
    mode = parseRoomMode(restored.mode, [...byName.keys()], options.workspaceDir, options.protectedFiles, options.replyFileGuard);
  } catch {
    mode = { kind: "group" }; // the config changed since (a persona is gone): fall back rather than refuse to resume
  }
  const notices = [
    ...(restored.damagedLines > 0 ? [describeDamage(sessionId, restored.damagedLines, restored.damagedLineNumbers)] : []),
    ...(restored.unsealedCompactions > 0 ? [describeUnsealedSummaries(sessionId, restored.unsealedCompactions)] : []),
  ];
  const damaged = notices.length > 0 ? notices.join(" ") : undefined;
  return { sessionId, mode, history: restored.history, summaries: restored.summaries, ...(damaged !== undefined ? { damagedNotice: damaged } : {}) };
}

function newSession(options: SessionStartOptions): SessionStart {
  const { config } = options;
  try {
    const mode = parseRoomMode(config.mode, [...options.byName.keys()], options.workspaceDir, options.protectedFiles, options.replyFileGuard);
    return { sessionId: newSessionId(), mode, history: [...(options.history ?? [])], summaries: {} };
  } catch (error) {
    if (!(error instanceof RoomModeError)) throw error;
    const file = config.source ?? "the configuration";
    throw new OrgConfigError(`${file}, key mode: ${error.message}`, file, undefined, "mode");
  }
}

/** What the user is told when a resumed transcript had damaged lines: how many, and where (capped). */
export function describeDamage(sessionId: string, count: number, lineNumbers: number[]): string {
  const where = lineNumbers.length < count ? `${lineNumbers.join(", ")} and ${count - lineNumbers.length} more` : lineNumbers.join(", ");
  return (
    `${count} damaged line${count === 1 ? "" : "s"} of session ${sessionId}'s transcript ` +
    `${count === 1 ? "was" : "were"} skipped (line${count === 1 ? "" : "s"} ${where}); what ` +
    `${count === 1 ? "it" : "they"} held is missing from the history. A crash mid-write damages at most the ` +
    `last line; more means the file was edited.`
  );
}

/** What the user is told when a resumed transcript held summaries org did not seal here: how many were skipped. */
export function describeUnsealedSummaries(sessionId: string, count: number): string {
  return (
    `${count} summar${count === 1 ? "y" : "ies"} of earlier messages in session ${sessionId}'s transcript ` +
    `${count === 1 ? "was" : "were"} skipped: not sealed by org in this workspace (copied from elsewhere, or written by ` +
    `something else), so ${count === 1 ? "it does" : "they do"} not reach any prompt. The messages themselves are kept; ` +
    "a new summary is written from them when the window fills."
  );
}
