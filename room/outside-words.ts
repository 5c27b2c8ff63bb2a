import { redact } from "../security/redact.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import type { OutsideWords } from "../tools/define-tool.ts";

/** Words from outside a persona took in this turn: where from, by which tool, and through whom when another read them. */
export type WordsTaken = { from: string; tool: string; via?: string };

/**
 * Which personas took words from outside (a page, a server's answer) since the person last spoke: one per user turn,
 * so the person's next message clears it. A persona asked by one that took them (a hop) has them too: its trigger is
 * that persona's message, which may carry them on.
 */
export class TurnOutsideWords {
  readonly #taken = new Map<string, WordsTaken>();

  /** `persona` read `words` with `tool`; the first source is the one named. */
  read(persona: string, words: OutsideWords, tool: string): void {
    if (!this.#taken.has(persona)) this.#taken.set(persona, { from: words.from, tool });
  }

  /** `to` answers a message of `from`'s: whatever `from` took reaches `to` too. */
  passOn(from: string, to: string): void {
    const taken = this.#taken.get(from);
    if (taken && !this.#taken.has(to)) this.#taken.set(to, { from: taken.from, tool: taken.tool, via: taken.via ?? from });
  }

  /** What `persona` took this turn, if anything. */
  of(persona: string): WordsTaken | undefined {
    return this.#taken.get(persona);
  }
}

/** Who took words from where, one line: "agent read the words of https://x.example (browser) in this turn". */
export function outsideWordsTaken(persona: string, taken: WordsTaken, secrets: readonly string[]): string {
  // The origin is a page's to choose: redacted and made one line.
  const read = `read the words of ${oneLine(redact(taken.from, secrets), 120)} (${taken.tool}) in this turn`;
  return taken.via === undefined ? `${persona} ${read}` : `${persona} was asked by ${taken.via}, which ${read}`;
}

/** Why a call is put to the person though its policy allows it: who took words from where, and what it asks now. */
export function outsideWordsWhy(persona: string, tool: string, taken: WordsTaken, secrets: readonly string[]): string {
  return (
    `${outsideWordsTaken(persona, taken, secrets)}; it now asks to run ${oneLine(tool, 80)}. ` +
    "A page's words can steer a model: say yes only if you asked for this."
  );
}
