import { type HttpModelSettings, httpModel } from "./http-model.ts";
import type { LanguageModel } from "./language-model.ts";
import { authorizationFor, type ServerKeys } from "./server-keys.ts";

/**
 * Which model, on which server (its URL may carry credentials), from where the id came, with what sampling: what a
 * persona entry, `org tool new`, `org grow` or `org patch` asks for. The key is never part of it.
 */
export type ModelChoice = Omit<HttpModelSettings, "authorization">;

/**
 * The one way org makes a model: the OpenAI-compatible client for `choice`, carrying the Authorization header that
 * `keys` (made by `serverKeys`, the one key rule) give its server, and no other server's.
 */
export function modelFor(choice: ModelChoice, keys: ServerKeys): LanguageModel {
  return httpModel({ ...choice, authorization: authorizationFor(keys, choice.server) });
}
