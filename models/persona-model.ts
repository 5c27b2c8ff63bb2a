import { environmentSettings } from "../config/environment.ts";
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

/** The toolsmith's model: the config's toolsmith persona (its model, server and key), else OLLAMA_BASE's OLLAMA_MODEL. */
export function toolsmithModel(config: OrgConfig): LanguageModel {
  const persona = config.personas.find((entry) => entry.kind === "toolsmith");
  if (persona) return httpModels(config)(persona);
  const environment = environmentSettings();
  return httpModel({ server: environment.ollamaBase, modelId: environment.ollamaModel, apiKey: environment.apiKey });
}

/** The workflow planner's model: `override` (a command's --model) or workflow.plannerModel on the toolsmith's server, else the toolsmith's own. */
export function plannerModel(config: OrgConfig, override?: string): LanguageModel {
  const base = toolsmithModel(config);
  if (override !== undefined) return base.withModelId(override, "--model");
  return config.workflow.plannerModel !== undefined ? base.withModelId(config.workflow.plannerModel, "workflow.plannerModel in org.config.json") : base;
}
