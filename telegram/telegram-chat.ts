import type { Room } from "../room/room.ts";
import type { RoomStream } from "../room/room-stream.ts";
import { SessionNotFoundError } from "../room/transcript.ts";
import type { ApprovalButtons } from "./approval-buttons.ts";
import type { BotApi } from "./bot-api.ts";
import { ChatOutbox } from "./chat-outbox.ts";
import { ChatView } from "./chat-view.ts";
import { escapeHtml } from "./telegram-html.ts";
import type { TelegramState } from "./telegram-state.ts";
import type { TelegramFileOutlet } from "./file-outlet.ts";
import type { OutgoingFile } from "../tools/send-file.ts";

/**
 * The rooms `org telegram` talks to, as serve's `SessionPool` gives them: a hold on a session for a turn (`lease`;
 * a new session when none is named), and a hold that keeps it open while someone follows its stream (`watch`: while
 * held, the room asks "ask" tools of its watchers, so the chat's buttons can answer).
 */
export type TelegramSessions = {
  lease(
    session: string | undefined,
    requestId: string,
    signal: AbortSignal,
    options?: { busy?: "wait" | "refuse" },
  ): Promise<{ room: Room; sessionId: string; release(): void }>;
  watch(session: string): Promise<{ room: Room; stream: RoomStream; sessionId: string; release(): void }>;
};

/** What every chat of the bridge shares. */
export type ChatDeps = {
  api: BotApi;
  sessions: TelegramSessions;
  state: TelegramState;
  buttons: ApprovalButtons;
  log: (line: string) => void;
  signal: AbortSignal;
  gapMs: number;
  /** The workspace: a session's screenshots are in its folder below it (`readScreenshot`). */
  workspaceDir: string;
  /** send_file's outlet: the chat's session is bound to this chat there while it is watched. */
  fileOutlet?: TelegramFileOutlet;
};

/** Characters of a message a restart quotes when it says the answer was cut. */
const EXCERPT_CHARS = 60;

/**
 * One allowed chat: its room session (made on its first message, kept in the state, resumable from `org chat --resume`
 * and the web room), a watcher of that room's stream showing everything in the chat, and its messages' turns one after
 * another. Commands and button presses do not wait for a running turn.
 */
export class TelegramChat {
  readonly outbox: ChatOutbox;
  #watched: { sessionId: string; release(): void; unsubscribe(): void; view: ChatView } | undefined;
  #opening: Promise<string> | undefined;
  #turns: Promise<void> = Promise.resolve();
  /** Bumped by /stop: messages taken before it are dropped, not run. */
  #generation = 0;

  constructor(
    readonly chatId: string,
    readonly deps: ChatDeps,
  ) {
    this.outbox = new ChatOutbox(deps.api, chatId, { gapMs: deps.gapMs, signal: deps.signal, log: deps.log });
  }

  /** The chat's session, opened and watched (a new one the first time, or when its transcript is gone). */
  session(): Promise<string> {
    if (this.#watched) return Promise.resolve(this.#watched.sessionId);
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /** Runs `act` on the session's room as it is now (serve may have reopened it with new tools). */
  async withRoom<T>(act: (room: Room) => T | Promise<T>): Promise<T> {
    const watch = await this.deps.sessions.watch(await this.session());
    try {
      return await act(watch.room);
    } finally {
      watch.release();
    }
  }

  async #open(): Promise<string> {
    const { sessions, state } = this.deps;
    const known = state.sessionOf(this.chatId);
    let watch: Awaited<ReturnType<TelegramSessions["watch"]>> | undefined;
    if (known !== undefined) {
      watch = await sessions.watch(known).catch((error: unknown) => {
        if (error instanceof SessionNotFoundError) return undefined;
        throw error;
      });
      if (!watch) this.outbox.say(`<i>${escapeHtml(`session ${known} is gone from the workspace; this chat starts a new one.`)}</i>`);
    }
    if (!watch) {
      const lease = await sessions.lease(undefined, `telegram-${this.chatId}-new`, this.deps.signal);
      const sessionId = lease.sessionId;
      lease.release();
      state.update((file) => {
        file.chats[this.chatId] = sessionId;
      });
      state.save();
      watch = await sessions.watch(sessionId);
    }
    const view = new ChatView(this.chatId, watch.sessionId, this.outbox, this.deps.buttons, this.deps.workspaceDir);
    const sessionId = watch.sessionId;
    const deliver = async (file: OutgoingFile, caption: string, signal: AbortSignal) => {
      await this.deps.api.sendDocument(this.chatId, { fileName: file.fileName, content: file.bytes, mimeType: file.mimeType }, caption, signal);
    };
    this.deps.fileOutlet?.bind(sessionId, deliver);
    const unbind = () => this.deps.fileOutlet?.unbind(sessionId, deliver);
    const unsubscribe = watch.stream.subscribe((frame) => frame.kind === "event" && view.show(frame.event), {
      onClose: () => {
        // The room's stream ended (serve closed the session): the next message opens it again.
        unbind();
        this.#watched = undefined;
      },
    });
    const held = watch;
    this.#watched = {
      sessionId: held.sessionId,
      release: () => {
        unbind();
        held.release();
      },
      unsubscribe,
      view,
    };
    return held.sessionId;
  }

  /** A message whose update is recorded as taken: its turn runs after the chat's earlier ones. */
  take(updateId: number, text: string): void {
    const generation = this.#generation;
    this.#turns = this.#turns
      .then(() => this.#turn(updateId, text, generation))
      .catch((error: unknown) => {
        this.deps.log(`telegram: chat ${this.chatId}: a turn failed: ${error instanceof Error ? error.message : String(error)}`);
        this.outbox.say(`<i>${escapeHtml(`⚠ org could not answer: ${error instanceof Error ? error.message : String(error)}`)}</i>`);
      });
  }

  async #turn(updateId: number, text: string, generation: number): Promise<void> {
    const { state, sessions, signal } = this.deps;
    if (generation !== this.#generation || signal.aborted) {
      if (signal.aborted) return;
      state.update((file) => {
        file.taken = file.taken.filter((taken) => taken.updateId !== updateId);
      });
      state.save();
      return;
    }
    const sessionId = await this.session();
    // Begun is written before the turn starts: a kill from here on is said, after a restart, never run again.
    state.update((file) => {
      file.taken = file.taken.filter((taken) => taken.updateId !== updateId);
      file.begun[this.chatId] = { updateId, excerpt: text.slice(0, EXCERPT_CHARS), text, replied: false };
    });
    state.save();
    const lease = await sessions.lease(sessionId, `telegram-${updateId}`, signal, { busy: "wait" });
    // Written when a persona begins to answer: from then on a kill leaves an answer cut, and the message is not run again.
    const replied = () => {
      state.update((file) => {
        const begun = file.begun[this.chatId];
        if (begun?.updateId === updateId) begun.replied = true;
      });
      state.save();
    };
    try {
      const view = this.#watched?.view;
      await lease.room.send(text, { started: (turnId) => view?.started(turnId, replied) });
    } finally {
      lease.release();
      if (!signal.aborted) {
        state.update((file) => {
          delete file.begun[this.chatId];
        });
        state.save();
      }
    }
  }

  /** /stop: the running replies stop, and messages still waiting are not run. Returns how many of each. */
  async stop(): Promise<{ turns: number; dropped: number }> {
    this.#generation += 1;
    const dropped = this.deps.state.taken().filter((taken) => taken.chatId === this.chatId).length;
    const turns = await this.withRoom((room) => room.stop("stopped from Telegram (/stop)"));
    return { turns, dropped };
  }

  /** Lets go of the session (its room may close once nobody else holds it). */
  close(): void {
    this.#watched?.unsubscribe();
    this.#watched?.release();
    this.#watched = undefined;
  }
}
