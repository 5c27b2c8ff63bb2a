import type { OrgConfig, PersonaConfig } from "../config/org-config.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { modelFor } from "../llm/model-for.ts";

/** Builds the model a persona talks to from its config entry. */
export type ModelFactory = (persona: PersonaConfig) => LanguageModel;

/** The model of each persona, with the key the config gives its server (`modelFor`): built once, where the room is assembled. */
export function httpModels(config: OrgConfig): ModelFactory {
  return (persona) => modelFor({ server: persona.server, modelId: persona.model, modelSource: persona.modelSource }, config.authorizations);
}
