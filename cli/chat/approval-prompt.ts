import { redact } from "../../security/redact.ts";
import type { LocalAnswer } from "../../room/room-approvals.ts";
import type { ApprovalScope } from "../../room/tool-approval.ts";
import type { TerminalText } from "../terminal/ansi.ts";
import type { ConsoleRenderer } from "./console-renderer.ts";

/** A tool call waiting for the user's yes or no, its arguments as they will run (after validation). */
export type PendingCall = {
  id?: string;
  name: string;
  arguments: unknown;
  /** What the call would do, shown above the question (a workspace change's diff); redacted by whoever made it. */
  preview?: string;
};

/** One question for the user: what to show, the prompt line, and what an answer means. */
export type ApprovalQuestion = {
  persona: string;
  call: PendingCall;
  /** "agent wants to run sh {…}": every argument, whole; the terminal side makes control characters visible. */
  text: string;
  /** Why it is asked though the policy allows it (the persona took words from outside this turn), shown first. */
  why?: string;
  prompt: string;
  /** The answers one key gives (the first letter of each word), where the terminal takes one key without Enter. */
  keys: readonly string[];
  /**
   * Aborts when the question no longer waits for this asker (answered in the web room, or the call that asked ended): the
   * asker takes it off the screen.
   */
  signal?: AbortSignal;
  /** The line that reports the answer (`undefined` is an interrupt); the asker shows it before the question ends. */
  verdict(reply: string | undefined): string;
};

/**
 * Decides whether `persona` may run `call`; the room asks this for tools the config marks `ask`. `signal` aborts once
 * someone else (a subscriber of the room's stream) answered first: a question still waiting its turn is then not asked.
 * "always" is answered as `{ always: true }`: the room remembers it and does not ask what it covers again.
 */
export type ApproveToolCall = (
  persona: string,
  call: PendingCall,
  context?: { signal: AbortSignal; always?: ApprovalScope; why?: string },
) => Promise<LocalAnswer>;

export type ApprovalPromptOptions = {
  /**
   * Asks the user one question and resolves to the answer, or undefined when they interrupted (which also
   * answers every question already waiting: they are not asked). Shows `question.verdict(answer)` itself.
   * Absent when nobody can answer (`--once`, no terminal).
   */
  ask?: (question: ApprovalQuestion) => Promise<string | undefined>;
  /** `--yes`: allow every call without asking. */
  assumeYes: boolean;
  /** Where notices go (stderr under `--json`, so stdout stays one event per line). */
  notify: (line: string) => void;
  /** Whether `ask` takes one key as the answer; without, the prompt says Enter is needed. Default true. */
  oneKey?: boolean;
};

/**
 * How a call is shown in the question: tool name and its arguments as JSON, redacted, never shortened (a
 * command's tail is where a harmful part would hide). JSON shows a newline as `\n`, so nothing is hidden
 * on a line of its own.
 */
export function describeCall(call: PendingCall): string {
  return `${call.name} ${redact(JSON.stringify(call.arguments ?? {}))}`;
}

/**
 * The terminal's approval prompt. Questions are asked one at a time even when several personas want
 * tools at once; "a" (always) is handed to the room, which keeps it for the rest of the session and
 * asks nobody about what it covers. Without a way to ask, calls are denied unless `--yes` was given,
 * and the notice says how to allow them.
 */
export function createApprovalPrompt(options: ApprovalPromptOptions): ApproveToolCall {
  let queue: Promise<unknown> = Promise.resolve();
  let interrupts = 0;
  return (persona, call, context) => {
    const alwaysFor = context?.always?.label ?? call.name;
    // After words from outside a call is asked each time, yes or no: neither --yes nor an earlier "always" answers it.
    const why = context?.why;
    if (why !== undefined && (options.assumeYes || !options.ask)) {
      options.notify(
        `denied: ${persona}'s ${call.name} call came after words from outside (a page's) in this turn; such a call needs a ` +
          "person's yes, and this run cannot ask (--yes does not cover it). Ask for it in the interactive room.",
      );
      return Promise.resolve({
        denied: "words from outside came first, and this run asks nobody (--yes does not cover such a call); denied for that, not by the user",
      });
    }
    if (options.assumeYes) {
      options.notify(`approved by --yes: ${persona} runs ${describeCall(call)}`);
      return Promise.resolve(true);
    }
    const { ask } = options;
    if (!ask) {
      options.notify(`denied: ${persona} wanted to run ${call.name}, which needs approval, and this run cannot ask. Pass --yes to allow such calls.`);
      return Promise.resolve({
        denied: "this run has no terminal to ask on (chat --once without --yes), so it was denied for that, not by the user",
      });
    }
    // Questions already waiting when the user interrupts belong to the stopped turn: they are not asked.
    const askedIn = interrupts;
    const answer = queue.then(async (): Promise<LocalAnswer> => {
      const notRun = () => {
        options.notify(`not run: ${persona}'s ${call.name} call (interrupted)`);
        return { denied: "the user interrupted the turn before it was asked" };
      };
      if (askedIn !== interrupts) return notRun();
      if (context?.signal.aborted) return { denied: "answered elsewhere before it was asked here" };
      const allows = (reply: string) => {
        const word = reply.trim().toLowerCase();
        if (why !== undefined) return word === "y" || word === "yes";
        return word === "y" || word === "yes" || word === "a" || word === "always";
      };
      const reply = await ask({
        persona,
        call,
        ...(context ? { signal: context.signal } : {}),
        text: `${persona} wants to run ${describeCall(call)}`,
        ...(why !== undefined ? { why } : {}),
        prompt: `allow? [y]es / [n]o${why === undefined ? ` / [a]lways for ${alwaysFor}` : ""}${options.oneKey === false ? " (then Enter)" : ""}: `,
        keys: why === undefined ? ["yes", "no", "always"] : ["yes", "no"],
        // undefined is Ctrl-C at the question (a read the call's signal ended answers ""): it stops the turn, which
        // also ends the call's wait, so it is told first.
        verdict: (answer) =>
          answer === undefined
            ? `not run: ${persona}'s ${call.name} call (interrupted)`
            : context?.signal.aborted
              ? `no longer asked: ${persona}'s ${call.name} call was settled elsewhere or stopped waiting`
              : allows(answer)
                ? `allowed: ${persona} runs ${call.name}`
                : `denied: ${persona} may not run ${call.name} this time`,
      });
      if (reply === undefined) {
        interrupts += 1;
        return { denied: "the user interrupted the turn at the question" };
      }
      if (context?.signal.aborted) return { denied: "answered elsewhere, or no longer waited for, while it was asked here" };
      const word = reply.trim().toLowerCase();
      if (why === undefined && (word === "a" || word === "always")) return { always: true };
      return allows(reply);
    });
    queue = answer.catch(() => undefined);
    return answer;
  };
}

/**
 * Asks on the console: the call's real `⚙` line, then the question, while every other output waits until
 * the answer is in and its verdict shown. `readAnswer` reads one line, or one of `keys` (undefined: interrupted).
 */
export function askOnConsole(
  renderer: ConsoleRenderer,
  readAnswer: (prompt: TerminalText, keys: readonly string[], signal?: AbortSignal) => Promise<string | undefined>,
): (question: ApprovalQuestion) => Promise<string | undefined> {
  return async (question) => {
    const screen = renderer.openQuestion(question.persona, question.call.id);
    try {
      if (question.why !== undefined) screen.say(`⚠ ${question.why}`, "yellow");
      screen.say(question.text, "yellow");
      if (question.call.preview) screen.say(question.call.preview);
      const reply = await readAnswer(screen.prompt(question.prompt, "yellow"), question.keys, question.signal);
      screen.say(`· ${question.verdict(reply)}`, "gray");
      return reply;
    } finally {
      screen.close();
    }
  };
}
