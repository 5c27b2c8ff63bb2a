import { serverEndpoint, urlOrigin } from "./server-url.ts";

/**
 * Which `Authorization` header goes to which model server: the header value per server origin
 * (`scheme://host:port`). Made once by `serverKeys`, read by `modelFor`; a server not in it gets none.
 */
export type ServerKeys = Readonly<Record<string, string>>;

/** A key given for one server: a server's or a persona's `apiKeyEnv` in org.config.json, `org patch`'s LLM_API_KEY. */
export type NamedKey = { server: string; key: string };

/**
 * The one key rule: a key goes only to the server it belongs to, never to another.
 * - `defaultKey` (OPENAI_API_KEY) to `defaultServer`'s origin (OLLAMA_BASE) only;
 * - each named key to its own server's origin, over the default (the last named wins; config refuses two that differ);
 * - credentials written into a server's URL (`http://user:token@host`) to that URL's origin, as HTTP Basic or a
 *   Bearer token, over both: the URL org shows, stores and sends never carries them.
 */
export function serverKeys(input: {
  defaultServer?: string;
  defaultKey?: string | undefined;
  named?: readonly NamedKey[];
  urls?: readonly string[];
}): ServerKeys {
  const keys: Record<string, string> = {};
  // Only a URL that parses has an origin: anything else (a name like `__proto__` among them) keys nothing.
  const give = (url: string, authorization: string) => {
    if (URL.canParse(url)) keys[urlOrigin(url)] = authorization;
  };
  if (input.defaultServer !== undefined && input.defaultKey) give(input.defaultServer, `Bearer ${input.defaultKey}`);
  for (const { server, key } of input.named ?? []) give(server, `Bearer ${key}`);
  for (const url of [...(input.defaultServer !== undefined ? [input.defaultServer] : []), ...(input.urls ?? [])]) {
    const { authorization } = serverEndpoint(url);
    if (authorization) give(url, authorization);
  }
  return keys;
}

/** The Authorization header for `server`, if a key belongs to its origin (credentials in its own URL first); never another server's. */
export function authorizationFor(keys: ServerKeys, server: string): string | undefined {
  const origin = urlOrigin(server);
  return serverEndpoint(server).authorization ?? (URL.canParse(server) && Object.hasOwn(keys, origin) ? keys[origin] : undefined);
}
