import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { withServerSlot } from "../llm/server-slot-model.ts";
import { wrapModel } from "../llm/wrap-model.ts";
import { toolChars } from "../llm/token-estimate.ts";
import { purposeModel } from "../personas/model-router.ts";
import type { Persona } from "../personas/persona.ts";
import { type AssembledPrompt, type PromptSummary, replyReserve, summaryMessageText } from "../personas/prompt-assembly.ts";
import type { PromptKeeping } from "../personas/reply-host.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import { writeSummary } from "../personas/write-summary.ts";
import { profileForPrompt } from "../personas/user-profile.ts";
import { redact } from "../security/redact.ts";
import type { RoomCore } from "./room-core.ts";
import type { RoomEvent } from "./room-event.ts";

/** What a compaction did: summarised `messages` heard messages into a summary of `tokens`, or why it did nothing. */
export type CompactionOutcome = { persona: string; ok: true; messages: number; tokens: number } | { persona: string; ok: false; reason: string };

/** What the summariser's prompt takes besides the messages: its instructions, the tool and the earlier summary's heading. */
const SUMMARISER_OVERHEAD_TOKENS = 400;
/** How long closing a room waits for a summary still being written before it stops it. */
const CLOSE_WAIT_MS = 30_000;

/**
 * The room's compactions: each persona's summary of the heard messages that fell out of its window, written off the
 * reply's path (a reply goes on with the trimmed window; the summary lands for the next prompt), one at a time per
 * persona. A summary that fails leaves the trimmed window and is said once, until one succeeds again.
 */
export class RoomCompactions {
  readonly #core: RoomCore;
  readonly #emit: (event: RoomEvent) => void;
  readonly #slots: (server: string) => FifoSemaphore;
  readonly #running = new Map<string, Promise<CompactionOutcome>>();
  /** Personas told that their messages fell out without a summary; told again only after a summary succeeded. */
  readonly #told = new Set<string>();
  readonly #closing = new AbortController();

  constructor(core: RoomCore, emit: (event: RoomEvent) => void, slots: (server: string) => FifoSemaphore) {
    this.#core = core;
    this.#emit = emit;
    this.#slots = slots;
  }

  /** The summary a persona's next prompt holds. */
  summaryOf(persona: string): PromptSummary | undefined {
    return this.#core.state.summaries.get(persona);
  }

  /** What a reply of `persona` assembles its prompt with. */
  keeping(persona: string): PromptKeeping {
    return {
      estimator: this.#core.estimator,
      reserveTokens: this.#core.config.compaction.reserveTokens,
      summary: this.summaryOf(persona),
      assembled: (prompt) => this.assembled(persona, prompt),
      profile: profileForPrompt(this.#core.workspaceDir, this.#core.config.observer.profileChars),
      identity: {
        maxRounds: this.#core.config.limits.toolRoundsPerTurn,
        maxToolCalls: this.#core.config.limits.toolCallsPerReply,
        toolSeconds: this.#core.config.limits.toolSecondsPerTurn,
        secrets: this.#core.config.secrets,
      },
    };
  }

  /** Told of an assembled prompt: heard messages that fell out are summarised in the background (or said to be left out). */
  assembled(persona: string, prompt: AssembledPrompt): void {
    if (prompt.fellOut === 0 || prompt.fellOutThroughId === undefined) return;
    if (!this.#core.config.compaction.auto) {
      this.#tellOnce(
        persona,
        `${prompt.fellOut} earlier messages no longer fit ${persona}'s window and are left out of its prompt ` +
          `(compaction.auto is off; /compact summarises them).`,
      );
      return;
    }
    if (this.#running.has(persona)) return;
    void this.compact(persona, { through: prompt.compactThroughId ?? prompt.fellOutThroughId, signal: this.#closing.signal });
  }

  /**
   * Summarises `persona`'s heard messages after its summary, through `through` (default: all but its newest two), into
   * its new summary; `focus` says what to keep above all. Waits for one already running for that persona first.
   */
  async compact(persona: string, request: { through?: string; focus?: string; signal?: AbortSignal }): Promise<CompactionOutcome> {
    const running = this.#running.get(persona);
    if (running) await running;
    const work = this.#compact(persona, request).finally(() => this.#running.delete(persona));
    this.#running.set(persona, work);
    return work;
  }

  /** Waits for the compactions running now. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  /** Waits a bounded time for running compactions, then stops them. */
  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.settled(), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    this.#closing.abort(new Error("the room closed"));
    await this.settled();
  }

  async #compact(persona: string, request: { through?: string; focus?: string; signal?: AbortSignal }): Promise<CompactionOutcome> {
    const model = this.#core.byName.get(persona);
    if (!model) return { persona, ok: false, reason: `there is no persona "${persona}"` };
    const previous = this.summaryOf(persona);
    const history = this.#core.state.history;
    const messages = toSummarise(history, persona, previous?.throughId, request.through);
    if (messages.length === 0) return { persona, ok: false, reason: `${persona} has no earlier messages to summarise` };
    const summariser = this.#summariser(model);
    const signal = request.signal ? AbortSignal.any([request.signal, this.#closing.signal]) : this.#closing.signal;
    try {
      const window = await summariser.window(signal);
      const ratio = this.#core.estimator.charsPerToken(summariser.modelId);
      const reserve = replyReserve(window.tokens, this.#core.config.compaction.reserveTokens);
      const batchChars = Math.max(200, Math.floor((window.tokens - reserve - SUMMARISER_OVERHEAD_TOKENS) * ratio));
      // A summary keeps to a quarter of the persona's window, so the messages after it still fit beside it.
      const personaWindow = await model.languageModel.window(signal);
      const maxChars = Math.max(200, Math.floor((personaWindow.tokens / 4) * ratio));
      let text = previous?.text;
      let dropped = 0;
      for (const batch of batches(messages, Math.max(100, batchChars - Math.min(text?.length ?? 0, maxChars)))) {
        const written = await writeSummary({
          model: summariser,
          persona,
          messages: batch,
          previous: text,
          focus: request.focus,
          maxChars,
          signal,
        });
        text = redact(written.text, this.#core.config.secrets);
        dropped += written.dropped;
      }
      const last = messages.at(-1);
      if (text === undefined || text === "" || last === undefined) throw new Error("the summary came back empty");
      const summary: PromptSummary = { text, throughId: last.id, messages: (previous?.messages ?? 0) + messages.length };
      this.#core.state.summaries.set(persona, summary);
      const tokens = this.#core.estimator.messageTokens(model.modelId, summaryMessageText(text).length);
      this.#told.delete(persona);
      this.#emit({
        type: "compaction",
        persona,
        messages: messages.length,
        throughId: last.id,
        tokens,
        summary: text,
        model: summariser.modelId,
        dropped,
        ...(request.focus ? { focus: request.focus } : {}),
      });
      return { persona, ok: true, messages: messages.length, tokens };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (!this.#closing.signal.aborted && !request.signal?.aborted) {
        this.#tellOnce(
          persona,
          `${messages.length} earlier messages no longer fit ${persona}'s window and could not be summarised (${reason}); ` +
            `its prompt holds the newest messages that fit, and a summary is tried again when more fall out (or /compact).`,
        );
      }
      return { persona, ok: false, reason };
    }
  }

  /**
   * The persona's model (or `models.byPurpose.compaction`, or `compaction.model` on its server), holding its server's
   * slot, counted against the session's budget, each request saying the window it needs (Ollama's `num_ctx`: the prompt
   * and the reply's reserve).
   */
  #summariser(persona: Persona): LanguageModel {
    const { config } = this.#core;
    const own = config.compaction.model ? persona.languageModel.withModelId(config.compaction.model, "compaction.model") : persona.languageModel;
    const base = purposeModel(config, "compaction", own);
    const { budget, estimator } = this.#core;
    const counted = wrapModel(base, {
      async wrapStream({ request, model }) {
        budget.checkTokens();
        const needed = estimator.messagesTokens(model.modelId, request.messages, toolChars(request.tools ?? [])) + config.compaction.reserveTokens;
        const completion = await model.stream({ ...request, contextTokens: needed });
        if (completion.usage) budget.recordUsage(completion.usage);
        return completion;
      },
    });
    return withServerSlot(counted, this.#slots(base.server), { onQueued: () => {}, onWaited: () => {} });
  }

  #tellOnce(persona: string, message: string): void {
    if (this.#told.has(persona)) return;
    this.#told.add(persona);
    this.#emit({ type: "notice", persona, reason: "compaction", message });
  }
}

/** The heard messages of `persona` after the summary's last (`after`) through `through` (or all but the newest two). */
export function toSummarise(history: readonly RoomMessage[], persona: string, after: string | undefined, through: string | undefined): RoomMessage[] {
  let start = 0;
  if (after !== undefined) {
    const index = history.findIndex((message) => message.id === after);
    start = index + 1;
  }
  const heard = history
    .slice(start)
    .filter((message) => message.undone === undefined && message.text !== "" && (message.from === persona || message.heardBy.includes(persona)));
  if (through === undefined) return heard.slice(0, Math.max(0, heard.length - 2));
  const end = heard.findIndex((message) => message.id === through);
  return end < 0 ? [] : heard.slice(0, end + 1);
}

/** The messages in runs of at most `chars` characters (a longer message alone, cut to `chars`). */
function* batches(messages: readonly RoomMessage[], chars: number): Generator<RoomMessage[]> {
  let batch: RoomMessage[] = [];
  let size = 0;
  for (const message of messages) {
    const cut = message.text.length > chars ? { ...message, text: `${message.text.slice(0, chars)}…` } : message;
    if (batch.length > 0 && size + cut.text.length > chars) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(cut);
    size += cut.text.length;
  }
  if (batch.length > 0) yield batch;
}
