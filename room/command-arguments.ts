import { z } from "zod";
import type { FrontEnd } from "./command-spec.ts";

// The schemas the room's commands read their words with (room-commands.ts), and the refusal of a use kept to a person.

/** The terminal's room, a room fed by a pipe, and `org chat --once`: the front ends of `org chat`. */
export const CHAT: readonly FrontEnd[] = ["terminal", "piped", "once"];

/** The words typed after a command's name: what every schema reads. */
export const Words = () => z.array(z.string());

/** No arguments. */
export const none = () => Words().max(0, "takes no arguments");

/** Nothing, or one whole number above 0; `refusal` for anything else. */
export const optionalCount = (refusal: string) =>
  Words()
    .max(1, refusal)
    .refine(([word]) => word === undefined || (Number.isInteger(Number(word)) && Number(word) > 0), refusal)
    .transform(([word]) => (word === undefined ? undefined : Number(word)));

/** Every word, joined by one space; `refusal` when there is none. */
export const text = (refusal: string) =>
  Words()
    .min(1, refusal)
    .transform((words) => words.join(" "));

/** Nothing, or one word; `refusal` for more. */
export const optionalWord = (refusal: string) =>
  Words()
    .max(1, refusal)
    .transform(([word]) => word);

/** A mode as `/mode` takes it (the room checks the persona or the path). */
export const MODE = /^(group|direct:\S+|file:\S+)$/;

/**
 * A use that runs only when a person types it in the room: from `--once` or a piped room, whose text a script may have
 * from someone else, it is refused, naming the way that remains. `what` says why it is kept to a person at the room.
 */
export function roomOnly(frontEnd: FrontEnd, what: string, otherwise: string): string | undefined {
  const from = frontEnd === "once" ? "--once" : frontEnd === "piped" ? "a room whose input is not a terminal" : undefined;
  return from === undefined ? undefined : `${what}, so it is never run from ${from}: ${otherwise}. Nothing was done.`;
}
