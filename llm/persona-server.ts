import { z } from "zod";
import { ModelApi } from "./discover-window.ts";

/**
 * The key a persona's entry in `org.config.json` names its own OpenAI-compatible server with (the name
 * OpenAI-compatible clients use): the one place org spells it, so messages and the schema agree.
 */
export const SERVER_URL_KEY = "baseUrl";

/** The name of the environment variable that holds a server's API key (`apiKeyEnv`): letters, digits and '_'. */
export const ApiKeyEnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name: letters, digits and '_'");

/**
 * The server fields of a persona's entry, spread into config's persona schema: its server, the environment
 * variable holding that server's key (`server-keys.ts`: the key goes to that server, and to no other), and the API
 * org speaks to it (`api`: `auto`, the default, takes Ollama's own `/api/chat` where the server is Ollama).
 */
export const PersonaServerFields = {
  [SERVER_URL_KEY]: z.url({ protocol: /^https?$/ }).optional(),
  apiKeyEnv: ApiKeyEnvName.optional(),
  api: ModelApi.optional(),
} as const;

/** The server a persona's entry names, if any. */
export function personaServerUrl(entry: { readonly [SERVER_URL_KEY]?: string | undefined }): string | undefined {
  return entry[SERVER_URL_KEY];
}
