import { z } from "zod";
import type { TelegramSettings } from "../config/telegram-settings.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { sleep } from "../concurrency/sleep.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { JsonValue } from "../tools/define-tool.ts";
import { ApprovalButtons } from "./approval-buttons.ts";
import { type BotApi, TelegramApiError, TelegramUnreachableError } from "./bot-api.ts";
import { type ChatAnswer, type ChatCommandParts, chatAnswer, runChatCommand, telegramCommands } from "./chat-commands.ts";
import { readLine } from "../room/interpret-command.ts";
import { escapeHtml } from "./telegram-html.ts";
import { TelegramChat, type TelegramSessions } from "./telegram-chat.ts";
import { TelegramState } from "./telegram-state.ts";
import type { TelegramFileOutlet } from "./file-outlet.ts";
import { receiveFile } from "./received-file.ts";
import { makeScratchRootPrivate, scratchDirFor } from "../sandbox/scratch-dir.ts";
import { type ReadUpdate, readUpdate } from "./telegram-update.ts";

export type TelegramBridgeOptions = {
  api: BotApi;
  settings: TelegramSettings;
  sessions: TelegramSessions;
  workspaceDir: string;
  /** The user's org folder, whose key seals the bot's state (default: `userOrgDir` of the process's environment). */
  orgHome?: { dir: string | undefined };
  /** Strangers dropped, secrets refused and forged buttons go here, one line each (a stranger's chat once). */
  audit: AuditSink;
  /**
   * What the room's commands need beside a chat's room: the config (limits.sessionTokens for `/budget`, the routes for
   * `/models`), `/status`'s text, memory's search (`/recall`) and the MCP servers (`/mcp`), where there are any.
   */
  roomCommands: Omit<ChatCommandParts, "workspaceDir">;
  /** send_file's outlet, when the rooms' tools have one: each chat binds its session to itself there. */
  fileOutlet?: TelegramFileOutlet;
  log: (line: string) => void;
  signal: AbortSignal;
  /** The least time between two writes into one chat (Telegram allows about one message a second per chat). */
  gapMs?: number;
  /** Called once the bot is known and about to poll: its username. */
  onReady?: (username: string) => void;
};

/** What getMe answers that org reads: the bot's username. */
const Me = z.object({ username: z.string().max(64).optional() });

/** The updates org asks Telegram for. */
const ALLOWED_UPDATES = ["message", "callback_query"];
/** The longest wait between two polls after network failures (1 s, doubling). */
const MAX_BACKOFF_MS = 60_000;

const NOT_READ =
  "I read text, documents, photos, voice notes and audio files only: stickers, videos and the like are not read here " +
  "(nothing of them reached the room).";

/** One line in the audit log for what the channel did (not a tool call: `ok` is true, nothing failed). */
function auditLine(audit: AuditSink, event: Record<string, JsonValue>): void {
  audit.record({ time: new Date().toISOString(), tool: "telegram", arguments: event, ok: true, durationMs: 0, bytes: 0 });
}

function refusal(kinds: readonly string[]): string {
  return escapeHtml(
    `Not sent to the room: your message held what looks like ${kinds.join(" and ")}. org keeps secrets out of ` +
      `its rooms, so nothing of that message was stored. Delete it from this chat, then send it again without the secret.`,
  );
}

/**
 * `org telegram`'s loop: long-polls getUpdates, serves the allowed chats (each its own room session) and drops every
 * other update (one audit line per chat, never an answer). Each update is taken once: the offset and what was taken are
 * stored durably before anything is done with it. A 429 waits retry_after; network errors back off, bounded; a 401
 * (the token) or 409 (another poller, or a webhook) ends it with an error that says what to do. Resolves when `signal` aborts.
 */
export async function runTelegramBridge(options: TelegramBridgeOptions): Promise<void> {
  const { api, settings, signal, log } = options;
  const state = TelegramState.open(options.workspaceDir, options.orgHome === undefined ? userOrgDir() : options.orgHome.dir);
  if (state.unsealed)
    log(
      `telegram: ${options.workspaceDir}/.org/telegram/state.json is not sealed by your org's key (a file this org did not write: ` +
        "a clone's, an archive's, another user's); set aside, so no message it holds runs as a chat's turn",
    );
  let me: z.infer<typeof Me> = {};
  try {
    me = await starting(options, "getMe", async () => Me.safeParse(await api.call("getMe", {}, signal)).data ?? {});
    await starting(options, "setMyCommands", () => api.call("setMyCommands", { commands: telegramCommands() }, signal));
  } catch (error) {
    // Stopped while the Bot API was out of reach: nothing was taken, nothing to say.
    if (signal.aborted) return;
    throw error;
  }
  const allowed = new Set(settings.allowedChats);
  const chats = new Map<string, TelegramChat>();
  const deps = {
    api,
    sessions: options.sessions,
    state,
    buttons: new ApprovalButtons(),
    log,
    signal,
    gapMs: options.gapMs ?? 1_000,
    workspaceDir: options.workspaceDir,
    ...(options.fileOutlet ? { fileOutlet: options.fileOutlet } : {}),
  };
  const chatOf = (chatId: string) => {
    let chat = chats.get(chatId);
    if (!chat) {
      chat = new TelegramChat(chatId, deps);
      chats.set(chatId, chat);
    }
    return chat;
  };
  const commandParts: ChatCommandParts = { ...options.roomCommands, workspaceDir: options.workspaceDir };
  resumeAfterRestart(state, allowed, chatOf);
  options.onReady?.(me.username ?? "");
  try {
    await poll(options, state, async (update) => {
      if (update.updateId < state.offset) return;
      await handle(update, { ...options, state, allowed, chatOf, commandParts, buttons: deps.buttons });
    });
  } finally {
    for (const chat of chats.values()) chat.close();
  }
}

/**
 * A call of the bot's start, tried until the Bot API is reached (network errors back off, 1 s doubling to a minute). A
 * refused token ends the start; any other refusal is said and passed over (the bot polls all the same).
 */
async function starting<T>(options: TelegramBridgeOptions, method: string, call: () => Promise<T>): Promise<T | Record<string, never>> {
  for (let failures = 1; ; failures += 1) {
    try {
      return await call();
    } catch (error) {
      if (error instanceof TelegramApiError && error.apiCode !== 401 && !options.signal.aborted) {
        options.log(`telegram: ${method} was refused (${error.message}); going on without it`);
        return {};
      }
      if (!(error instanceof TelegramUnreachableError) || options.signal.aborted) throw error;
      const wait = Math.min(1_000 * 2 ** (failures - 1), MAX_BACKOFF_MS);
      options.log(`telegram: ${error.message}; trying again in ${Math.round(wait / 1000)} s`);
      await sleep(wait, options.signal);
    }
  }
}

/**
 * What a restart finds: messages begun whose answer had begun (cut: said, never run again), messages begun that no
 * persona had begun to answer, and messages taken (both run now).
 */
function resumeAfterRestart(state: TelegramState, allowed: ReadonlySet<string>, chatOf: (chatId: string) => TelegramChat): void {
  const again: { chatId: string; updateId: number; text: string }[] = [];
  for (const begun of state.begun()) {
    // Killed before any persona began to answer: nothing was said or run for it, so it is run now, once.
    if (!begun.replied && begun.text !== undefined) again.push({ chatId: begun.chatId, updateId: begun.updateId, text: begun.text });
    else if (allowed.has(begun.chatId)) {
      chatOf(begun.chatId).outbox.say(
        `⚠ <i>${escapeHtml(
          `org restarted while it answered ` +
            `“${begun.excerpt}${begun.excerpt.length >= 60 ? "…" : ""}”; that answer was cut, and the message ` +
            `is not run again. Send it again to ask again.`,
        )}</i>`,
      );
    }
    state.update((file) => {
      delete file.begun[begun.chatId];
    });
  }
  state.update((file) => {
    file.taken = [...again, ...file.taken];
  });
  state.save();
  for (const taken of state.taken()) {
    if (allowed.has(taken.chatId)) chatOf(taken.chatId).take(taken.updateId, taken.text);
  }
}

async function poll(options: TelegramBridgeOptions, state: TelegramState, onUpdate: (update: ReadUpdate) => Promise<void>): Promise<void> {
  const { api, signal, log, settings } = options;
  let failures = 0;
  while (!signal.aborted) {
    let updates: unknown[];
    try {
      const params = { ...(state.offset > 0 ? { offset: state.offset } : {}), timeout: settings.pollTimeoutS, allowed_updates: ALLOWED_UPDATES };
      const result = await api.call("getUpdates", params, signal, settings.pollTimeoutS);
      updates = Array.isArray(result) ? result.slice(0, 100) : [];
      failures = 0;
    } catch (error) {
      if (signal.aborted) return;
      // The token is refused, or another poller (or a webhook) takes the updates: only a person can fix that.
      if (error instanceof TelegramApiError && [401, 404, 409].includes(error.apiCode)) throw error;
      failures += 1;
      const wait = Math.min(1_000 * 2 ** (failures - 1), MAX_BACKOFF_MS);
      log(`telegram: ${error instanceof Error ? error.message : String(error)}; polling again in ${Math.round(wait / 1000)} s`);
      await sleep(wait, signal).catch(() => {});
      continue;
    }
    for (const raw of updates) {
      if (signal.aborted) return;
      const update = readUpdate(raw);
      if (update) await onUpdate(update);
    }
  }
}

type Handling = TelegramBridgeOptions & {
  state: TelegramState;
  allowed: ReadonlySet<string>;
  chatOf: (chatId: string) => TelegramChat;
  commandParts: ChatCommandParts;
  buttons: ApprovalButtons;
};

/** One update: recorded as taken (durably) before anything is done with it. */
async function handle(update: ReadUpdate, handling: Handling): Promise<void> {
  const { state, log } = handling;
  const taken = (more: (file: Parameters<Parameters<TelegramState["update"]>[0]>[0]) => void = () => {}) => {
    state.update((file) => {
      file.offset = update.updateId + 1;
      more(file);
    });
    state.save();
  };
  const chatId = update.chatId;
  if (chatId === undefined || !handling.allowed.has(chatId)) {
    if (chatId !== undefined && state.firstSightOf(chatId)) {
      auditLine(handling.audit, { event: "stranger-dropped", chat: chatId, update: update.kind });
      log(`telegram: dropped an update from chat ${chatId}, which is not in telegram.allowedChats (its later ones are dropped without a line)`);
    }
    taken();
    return;
  }
  const chat = handling.chatOf(chatId);
  try {
    if (update.kind === "text") return await text(update, chat, handling, taken);
    if (update.kind === "file") return await file(update, chat, handling, taken);
    taken();
    if (update.kind === "other-message") chat.outbox.say(escapeHtml(NOT_READ));
    if (update.kind === "button") await pressed(update, chat, handling);
  } catch (error) {
    if (handling.signal.aborted) return;
    taken();
    log(`telegram: chat ${chatId}: update ${update.updateId} failed: ${error instanceof Error ? error.message : String(error)}`);
    chat.outbox.say(`<i>${escapeHtml(`⚠ org could not take that: ${error instanceof Error ? error.message : String(error)}`)}</i>`);
  }
}

async function text(
  update: Extract<ReadUpdate, { kind: "text" }>,
  chat: TelegramChat,
  handling: Handling,
  taken: (more?: (file: Parameters<Parameters<TelegramState["update"]>[0]>[0]) => void) => void,
): Promise<void> {
  // The room's inbound credential guard comes first: a message holding a secret goes nowhere, not even to the state file.
  const scan = await chat.withRoom((room) => room.scanInbound(update.text));
  if (scan.kinds.length > 0) {
    taken();
    auditLine(handling.audit, { event: "secret-refused", chat: chat.chatId, kinds: scan.kinds });
    chat.outbox.say(refusal(scan.kinds));
    return;
  }
  const read = readLine(update.text, "telegram");
  if (read.type === "answer" || read.type === "command") {
    taken();
    const say = (answer: ChatAnswer) => {
      if ("html" in answer) chat.outbox.say(answer.html);
      else chat.outbox.document({ fileName: answer.file.fileName, content: answer.file.content, mimeType: "text/plain" }, escapeHtml(answer.caption));
    };
    // A command does not wait for the chat's running turn (/stop must not), nor holds up the poll.
    if (read.type === "answer") say(chatAnswer(read.answer));
    else void runChatCommand(chat, read.command, handling.commandParts, handling.signal).then(say);
    return;
  }
  // `//text` is a message that starts with `/`.
  const message = read.type === "message" ? read.text : update.text;
  taken((file) => file.taken.push({ updateId: update.updateId, chatId: chat.chatId, text: message }));
  chat.take(update.updateId, message);
}

/**
 * A document, photo, voice note or audio file: downloaded, guarded and saved into the session's scratch before the
 * update is confirmed (a restart takes it again), then its message runs as a typed one does; a refusal is said and audited.
 */
async function file(
  update: Extract<ReadUpdate, { kind: "file" }>,
  chat: TelegramChat,
  handling: Handling,
  taken: (more?: (file: Parameters<Parameters<TelegramState["update"]>[0]>[0]) => void) => void,
): Promise<void> {
  const sessionId = await chat.session();
  makeScratchRootPrivate(handling.workspaceDir);
  const received = await receiveFile(update, {
    api: handling.api,
    settings: handling.settings,
    scratchDir: scratchDirFor({ workspaceDir: handling.workspaceDir, sessionId }),
    scan: (text) => chat.withRoom((room) => room.scanInbound(text).kinds),
    signal: handling.signal,
  });
  if (!received.ok) {
    taken();
    auditLine(handling.audit, { event: "file-refused", chat: chat.chatId, kind: update.file.kind, why: received.why });
    chat.outbox.say(
      escapeHtml(
        received.kinds
          ? `Not sent to the room: ${received.why}. org keeps secrets out of its rooms, so nothing of it was stored. ` +
              "Delete it from this chat, then send it again without the secret."
          : `Not sent to the room: ${received.why}.`,
      ),
    );
    return;
  }
  auditLine(handling.audit, { event: "file-received", chat: chat.chatId, kind: update.file.kind, path: received.path });
  taken((state) => state.taken.push({ updateId: update.updateId, chatId: chat.chatId, text: received.message }));
  chat.take(update.updateId, received.message);
}

/** A button press: bound to this chat and an open question, used once; anything else is refused and audited. */
async function pressed(update: Extract<ReadUpdate, { kind: "button" }>, chat: TelegramChat, handling: Handling): Promise<void> {
  const { api, signal } = handling;
  const answerPress = (text: string, alert: boolean) =>
    api
      .call("answerCallbackQuery", { callback_query_id: update.callbackId, text: text.slice(0, 200), show_alert: alert }, signal)
      .catch((error: unknown) => {
        handling.log(`telegram: chat ${chat.chatId}: answerCallbackQuery failed: ${error instanceof Error ? error.message : String(error)}`);
      });
  const press = handling.buttons.press(chat.chatId, update.data);
  if (!press.ok) {
    auditLine(handling.audit, { event: "button-refused", chat: chat.chatId, why: press.why });
    await answerPress(`Refused: ${press.message}`, true);
    return;
  }
  const result = await chat.withRoom((room) =>
    room.sessionId === press.sessionId
      ? room.answerApproval(press.approvalId, press.answer, "telegram")
      : { ok: false as const, status: "unknown" as const, message: "this button belongs to another session." },
  );
  if (!result.ok) {
    auditLine(handling.audit, { event: "button-refused", chat: chat.chatId, why: result.status });
    await answerPress(`Refused: ${result.message}`, true);
    return;
  }
  await answerPress(press.answer === "yes" ? "Approved" : "Denied", false);
}
