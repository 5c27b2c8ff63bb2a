import { unknownMentions } from "../../room/mentions.ts";

/** A message with an @name that is close to a persona's but is none: what to say, and the text with the persona names put in. */
export type MisspeltMentions = { problem: string; corrected: string };

/**
 * In group mode a misspelt @name would send the message to everyone; this finds such names (within the room's
 * edit distance of a persona) so the message can be held and the user asked (console) or refused (`--once`).
 * An @name close to no persona (`@types/node`) is not a misspelling and is left alone.
 */
export function misspeltMentions(text: string, personaNames: readonly string[]): MisspeltMentions | undefined {
  const misspelt = unknownMentions(text, personaNames).filter((entry): entry is { name: string; closest: string } => entry.closest !== undefined);
  if (misspelt.length === 0) return undefined;
  const problem = `there is no persona ${misspelt.map((entry) => `"@${entry.name}" (did you mean @${entry.closest}?)`).join(", ")}`;
  let corrected = text;
  for (const entry of misspelt) {
    corrected = corrected.replace(
      new RegExp(`(?<![\\w@.])@${entry.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w])`, "gi"),
      `@${entry.closest}`,
    );
  }
  return { problem, corrected };
}
