import type { ToolCall } from "../llm/chat-types.ts";
import type { ApprovalAsked, ApprovalChoice, ApprovalOutcome, RoomEvent } from "./room-event.ts";
import type { ApprovalAnswer, Approver, ApprovalContext, ApprovalScope } from "./tool-approval.ts";

/**
 * What the console answered: yes, no (with why where no one could answer), or "always": yes, and the room remembers what
 * the question's "always" covers, so it does not ask that again this session.
 */
export type LocalAnswer = ApprovalAnswer | { always: true };

/**
 * The console's way to ask (`org chat`): it gets every question, a signal that aborts once someone else answered, and
 * what "always" allows when it is not that persona's tool.
 */
export type LocalApprove = (
  persona: string,
  call: ToolCall & { preview?: string },
  context: { signal: AbortSignal; always?: ApprovalScope; why?: string },
) => Promise<LocalAnswer>;

/** Answers from elsewhere (serve: whoever watches the session's stream): whether anyone could answer now, and how long to wait. */
export type RemoteApprovals = { available(): boolean; timeoutMs: number };

/** What `answer` made of an answer: taken (it was the first), or refused with why. */
export type AnswerResult =
  | { ok: true; approvalId: string; answer: ApprovalChoice; by: string }
  | { ok: false; status: "answered" | "unknown"; message: string };

type Open = { asked: ApprovalAsked; key: string; settle(outcome: ApprovalOutcome, by: string, result: ApprovalAnswer, reason?: string): void };

/** Answered questions remembered, so a late second answer hears who answered first. */
const DECIDED_KEPT = 256;

/**
 * The room's open approval questions. Asking emits `approval-asked` with an id; the first answer, from the console
 * (`local`) or from any subscriber of the room's stream (`answer`, e.g. over HTTP), decides, emits `approval-answered`,
 * and later answers are refused. `always` allows that persona's tool for the rest of the session without asking, from
 * whoever gave it (the console's "a" as a subscriber's "always"); the questions it covers that are still open are answered by it.
 * Without a local asker the question waits `remote.timeoutMs` at most; a stopped turn answers it `stopped`.
 */
export class RoomApprovals implements Approver {
  readonly #open = new Map<string, Open>();
  readonly #decided = new Map<string, { answer: ApprovalOutcome; by: string }>();
  readonly #always: Set<string>;
  #counter = 0;

  constructor(
    readonly options: {
      emit(event: RoomEvent): void;
      /** Where approval ids come from (the session's), so two rooms' ids differ. */
      idPrefix: string;
      local?: LocalApprove;
      remote?: RemoteApprovals;
      /** The session's "always" answers, shared with the rooms opened again on it in this process; default this room's own. */
      always?: Set<string>;
    },
  ) {
    this.#always = options.always ?? new Set();
  }

  /** Whether anyone could answer a question now: the console, or a watcher of the stream. */
  canAsk(): boolean {
    return this.options.local !== undefined || (this.options.remote?.available() ?? false);
  }

  /** The questions waiting for an answer, as they were asked. */
  pending(): ApprovalAsked[] {
    return [...this.#open.values()].map((open) => open.asked);
  }

  ask(persona: string, call: ToolCall & { preview?: string }, context: ApprovalContext): Promise<ApprovalAnswer> {
    // "always" allows that persona's tool, or what the question's scope names (web_request: one host, for anyone).
    const key = context.always ? `\u0001${context.always.key}` : `${persona}\u0000${call.name}`;
    // A call after words from outside is asked each time: an "always" given before is not its answer, nor can it get one.
    const asksAlways = context.why === undefined;
    if (asksAlways && this.#always.has(key)) return Promise.resolve(true);
    this.#counter += 1;
    const approvalId = `${this.options.idPrefix}-a${this.#counter}-${crypto.randomUUID().slice(0, 4)}`;
    const { preview, ...shown } = call;
    const asked: ApprovalAsked = {
      type: "approval-asked",
      approvalId,
      persona,
      ...(context.replyId !== undefined ? { replyId: context.replyId } : {}),
      call: shown,
      ...(preview !== undefined ? { preview } : {}),
      ...(context.changeId !== undefined ? { changeId: context.changeId } : {}),
      choices: asksAlways ? ["yes", "no", "always"] : ["yes", "no"],
      ...(context.always && asksAlways ? { alwaysFor: context.always.label } : {}),
      ...(context.why !== undefined ? { why: context.why } : {}),
    };
    return new Promise<ApprovalAnswer>((resolve) => {
      const local = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => settle("stopped", "room", { denied: "the turn was stopped before anyone answered" });
      const settle = (outcome: ApprovalOutcome, by: string, result: ApprovalAnswer, reason?: string) => {
        if (!this.#open.delete(approvalId)) return;
        clearTimeout(timer);
        context.signal?.removeEventListener("abort", onAbort);
        local.abort(new Error(`answered ${outcome} by ${by}`));
        this.#remember(approvalId, { answer: outcome, by });
        if (outcome === "always" && asksAlways) this.#always.add(key);
        this.options.emit({ type: "approval-answered", approvalId, persona, answer: outcome, by, ...(reason !== undefined ? { reason } : {}) });
        resolve(result);
        if (outcome === "always" && asksAlways) this.#settleCovered(key, approvalId, by);
      };
      this.#open.set(approvalId, { asked, key, settle });
      this.options.emit(asked);
      if (context.signal?.aborted) return onAbort();
      context.signal?.addEventListener("abort", onAbort, { once: true });
      const { local: ask, remote } = this.options;
      if (ask) {
        const shown = { signal: local.signal, ...(context.always && asksAlways ? { always: context.always } : {}) };
        ask(persona, call, { ...shown, ...(context.why !== undefined ? { why: context.why } : {}) }).then(
          (answer) => {
            if (typeof answer === "boolean") settle(answer ? "yes" : "no", "terminal", answer);
            // "always" to a question that does not offer it (a call after words from outside) is a yes for this call only.
            else if ("always" in answer) settle(asksAlways ? "always" : "yes", "terminal", true);
            else settle("no", "terminal", answer, answer.denied);
          },
          (error: unknown) => settle("no", "terminal", { denied: `the question failed (${error instanceof Error ? error.message : String(error)})` }),
        );
      } else if (remote) {
        const within = remote.timeoutMs >= 1000 ? `${Math.round(remote.timeoutMs / 1000)} s` : `${remote.timeoutMs} ms`;
        timer = setTimeout(
          () => settle("timeout", "room", { denied: `nobody answered the approval question within ${within}` }, `nobody answered within ${within}`),
          remote.timeoutMs,
        );
      }
    });
  }

  /** An answer from a subscriber (`by` names it: `http`, a client's label): the first one decides, later ones are refused. */
  answer(approvalId: string, choice: ApprovalChoice, by: string): AnswerResult {
    const open = this.#open.get(approvalId);
    if (open) {
      // "always" to a question that does not offer it (a call after words from outside) is a yes for this call only.
      const taken = open.asked.choices.includes(choice) ? choice : "yes";
      const result: ApprovalAnswer = taken !== "no";
      open.settle(taken, by, result);
      return { ok: true, approvalId, answer: taken, by };
    }
    const decided = this.#decided.get(approvalId);
    if (decided)
      return { ok: false, status: "answered", message: `approval ${approvalId} was already answered: ${decided.answer}, by ${decided.by}.` };
    return {
      ok: false,
      status: "unknown",
      message: `there is no approval question ${approvalId} in this session; the room's stream names the open ones.`,
    };
  }

  /** The open questions an "always" just given covers (the same key, "always" offered): yes, by whoever gave it. */
  #settleCovered(key: string, approvalId: string, by: string): void {
    for (const open of [...this.#open.values()]) {
      if (open.key !== key || !open.asked.choices.includes("always")) continue;
      open.settle("yes", by, true, `covered by the "always" given to ${approvalId}`);
    }
  }

  #remember(approvalId: string, decided: { answer: ApprovalOutcome; by: string }): void {
    this.#decided.set(approvalId, decided);
    for (const old of this.#decided.keys()) {
      if (this.#decided.size <= DECIDED_KEPT) break;
      this.#decided.delete(old);
    }
  }
}
