import { redact } from "../security/redact.ts";

/** A tool call waiting for the user's yes or no. */
export type PendingCall = { name: string; arguments: unknown };

/** Decides whether `persona` may run `call`; the room asks this for tools the config marks `ask`. */
export type ApproveToolCall = (persona: string, call: PendingCall) => Promise<boolean>;

export type ApprovalPromptOptions = {
  /**
   * Asks the user one question and resolves to the answer, or undefined when they interrupted (which also
   * answers every question already waiting: they are not asked).
   * Absent when nobody can answer (`--once`, no terminal).
   */
  ask?: (question: string) => Promise<string | undefined>;
  /** `--yes`: allow every call without asking. */
  assumeYes: boolean;
  /** Where notices go (stderr under `--json`, so stdout stays one event per line). */
  notify: (line: string) => void;
};

const MAX_ARGUMENTS_SHOWN = 300;

/** How a call is shown in the question: tool name and its arguments as JSON, redacted and shortened. */
export function describeCall(call: PendingCall): string {
  let shown = redact(JSON.stringify(call.arguments ?? {}));
  if (shown.length > MAX_ARGUMENTS_SHOWN) shown = `${shown.slice(0, MAX_ARGUMENTS_SHOWN)}… (${shown.length} chars)`;
  return `${call.name} ${shown}`;
}

/**
 * The terminal's approval prompt. Questions are asked one at a time even when several personas want
 * tools at once; "a" (always) approves that persona's tool for the rest of the session. Without a way
 * to ask, calls are denied unless `--yes` was given, and the notice says how to allow them.
 */
export function createApprovalPrompt(options: ApprovalPromptOptions): ApproveToolCall {
  const always = new Set<string>();
  let queue: Promise<unknown> = Promise.resolve();
  let interrupts = 0;
  return (persona, call) => {
    const key = `${persona}\u0000${call.name}`;
    if (options.assumeYes) {
      options.notify(`approved by --yes: ${persona} runs ${describeCall(call)}`);
      return Promise.resolve(true);
    }
    const { ask } = options;
    if (!ask) {
      options.notify(
        `denied: ${persona} wanted to run ${call.name}, which needs approval, and this run cannot ask. Pass --yes to allow such calls.`,
      );
      return Promise.resolve(false);
    }
    // Questions already waiting when the user interrupts belong to the stopped turn: they are not asked.
    const askedIn = interrupts;
    const answer = queue.then(async () => {
      if (always.has(key)) return true;
      const notRun = () => {
        options.notify(`not run: ${persona}'s ${call.name} call (interrupted)`);
        return false;
      };
      if (askedIn !== interrupts) return notRun();
      const reply = await ask(`${persona} wants to run ${describeCall(call)}\nallow? [y]es / [n]o / [a]lways for ${call.name}: `);
      if (reply === undefined) {
        interrupts += 1;
        return notRun();
      }
      const word = reply?.trim().toLowerCase() ?? "";
      if (word === "a" || word === "always") always.add(key);
      const allowed = word === "y" || word === "yes" || always.has(key);
      options.notify(allowed ? `allowed: ${persona} runs ${call.name}` : `denied: ${persona} may not run ${call.name} this time`);
      return allowed;
    });
    queue = answer.catch(() => undefined);
    return answer;
  };
}
