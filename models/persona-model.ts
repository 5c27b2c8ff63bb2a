import { authorizationFor, type OrgConfig, type PersonaConfig } from "../config/org-config.ts";
import { httpModel } from "../llm/http-model.ts";
import type { LanguageModel } from "../llm/language-model.ts";

/** Builds the model a persona talks to from its config entry. */
export type ModelFactory = (persona: PersonaConfig) => LanguageModel;

/** The OpenAI-compatible model of each persona, with its server's credentials from the config: built once, where the room is assembled. */
export function httpModels(config: OrgConfig): ModelFactory {
  return (persona) =>
    httpModel({
      server: persona.server,
      modelId: persona.model,
      modelSource: persona.modelSource,
      authorization: authorizationFor(config, persona.server),
    });
}
