import { z } from "zod";

/**
 * The key a persona's entry in `org.config.json` names its own OpenAI-compatible server with (the name
 * OpenAI-compatible clients use): the one place org spells it, so messages and the schema agree.
 */
export const SERVER_URL_KEY = "baseUrl";

/** The server fields of a persona's entry, spread into config's persona schema. */
export const PersonaServerFields = { [SERVER_URL_KEY]: z.url({ protocol: /^https?$/ }).optional() } as const;

/** The server a persona's entry names, if any. */
export function personaServerUrl(entry: { readonly [SERVER_URL_KEY]?: string | undefined }): string | undefined {
  return entry[SERVER_URL_KEY];
}
