import type { OrgConfig } from "../config/org-config.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import { REDACTED, redact } from "../security/redact.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { ToolTimeBudget } from "../security/tool-time-budget.ts";
import { findMentions, unknownMentions } from "./mentions.ts";
import type { Turn } from "./reply-scheduler.ts";
import type { RoomEvent, TurnSummary } from "./room-event.ts";
import { formatRoomMode, type RoomMode } from "./room-mode.ts";
import { TurnOutsideWords } from "./outside-words.ts";

/**
 * What to do with a user message that holds what looks like a credential: `redact` (the default) sends it
 * with `[REDACTED]` in place of each and says so; `as-written` sends it whole to the personas (the user chose
 * so at the console's question), while the transcript and memory still keep it redacted.
 */
export type CredentialChoice = "redact" | "as-written";

/** What a turn needs of the room it runs in. */
export type TurnRoom = {
  config: OrgConfig;
  names: string[];
  sessionId: string;
  mode(): RoomMode;
  emit(event: RoomEvent): void;
  heardBy(speaker: string, mentions: string[]): string[];
  record(message: RoomMessage): void;
  schedule(turn: Turn, persona: string, hop: number, trigger: RoomMessage): void;
  /** Resolves when every reply of the turn is done (the room's close waits for it too). */
  settle(turn: Turn): Promise<void>;
};

/** "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** The notices a user message earns before anyone answers: a credential it held, an @name nobody has. */
function userMessageNotices(room: TurnRoom, text: string, addressed: string[], credential: { kinds: string[]; asWritten: boolean }): void {
  if (credential.kinds.length > 0) {
    const what = `your message held what looks like ${listed(credential.kinds)}`;
    room.emit({
      type: "notice",
      reason: "credential-guard",
      message: credential.asWritten
        ? `${what}; it went to the personas as written, as you chose. The transcript and memory keep it redacted.`
        : `${what}; it went to the personas redacted, with ${REDACTED} in its place.`,
    });
  }
  for (const unknown of unknownMentions(text, room.names)) {
    const hint = unknown.closest ? ` Did you mean @${unknown.closest}?` : ` Personas: ${room.names.join(", ")}.`;
    room.emit({
      type: "notice",
      reason: "unknown-persona",
      message: `there is no persona "@${unknown.name}"; the message went to ${addressed.join(", ")}.${hint}`,
    });
  }
}

/** A new turn for one user message, its tool time shared by every reply it sets off. */
function newTurn(config: OrgConfig, turnId: string, signal: AbortSignal): Turn {
  return {
    turnId,
    signal,
    repliesBy: new Map(),
    pending: new Set(),
    stats: {},
    messages: [],
    errors: [],
    toolTime: new ToolTimeBudget(config.limits.toolSecondsPerTurn),
    incomplete: [],
    // The person's message is what clears what the personas took from pages: a new turn starts with none.
    outsideWords: new TurnOutsideWords(),
  };
}

/**
 * One user message: the credential guard (what looks like a key goes to the models only when the user chose
 * so, and never into the transcript or memory), the addressed personas scheduled; resolves when all are done.
 */
export async function sendTurn(
  room: TurnRoom,
  typed: string,
  turnId: string,
  signal: AbortSignal,
  credentials?: CredentialChoice,
): Promise<TurnSummary> {
  const { config } = room;
  const scan = scanForSecrets(typed, config.secrets);
  const asWritten = scan.kinds.length > 0 && credentials === "as-written";
  const text = scan.redacted;
  const mode = room.mode();
  const mentions = findMentions(text, room.names);
  // A misspelt @name addresses nobody: the message goes where it would have gone without it, and the user is told.
  const addressed = mentions.length > 0 ? mentions : mode.kind === "direct" ? [mode.persona] : [...room.names];
  const turn = newTurn(config, turnId, signal);
  room.emit({ type: "turn-start", turnId, text, mode: formatRoomMode(mode), addressed });
  userMessageNotices(room, text, addressed, { kinds: scan.kinds, asWritten });
  const userMessage: RoomMessage = {
    id: `${turnId}-user`,
    turnId,
    from: "user",
    text: asWritten ? typed : text,
    time: new Date().toISOString(),
    heardBy: room.heardBy("user", mentions),
    addressed,
  };
  room.record(userMessage);
  turn.messages.push(userMessage);
  room.emit({ type: "message", message: { ...userMessage, text } });
  for (const persona of addressed) room.schedule(turn, persona, 0, userMessage);
  await room.settle(turn);
  const ok = turn.errors.length === 0;
  room.emit({ type: "turn-end", turnId, ok, stats: turn.stats, ...(turn.incomplete.length > 0 ? { incomplete: turn.incomplete } : {}) });
  const errors = turn.errors.map((error) => ({ ...error, message: redact(error.message, config.secrets) }));
  return { turnId, ok, messages: turn.messages, stats: turn.stats, errors, incomplete: turn.incomplete };
}
