import { environmentSettings } from "../config/environment.ts";
import type { OrgConfig, PersonaConfig } from "../config/org-config.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { modelFor } from "../llm/model-for.ts";
import { NumCtxFloor } from "../llm/ollama-chat.ts";
import { purposeModel } from "./model-router.ts";

/** Builds the model a persona talks to from its config entry. */
export type ModelFactory = (persona: PersonaConfig) => LanguageModel;

/** The model of each persona, with the key the config gives its server (`modelFor`): built once, where the room is assembled. */
export function httpModels(config: OrgConfig): ModelFactory {
  // Personas that share a model on Ollama ask it for one num_ctx, never less than asked before: a change reloads the model.
  const numCtxFloor = new NumCtxFloor();
  return (persona) =>
    modelFor(
      {
        server: persona.server,
        modelId: persona.model,
        modelSource: persona.modelSource,
        contextTokens: persona.contextTokens,
        maxContextTokens: persona.maxContextTokens,
        api: persona.api,
        numCtxFloor,
      },
      config.authorizations,
    );
}

/** The toolsmith's model: the config's toolsmith persona (its model, server and key), else OLLAMA_BASE's OLLAMA_MODEL with OLLAMA_BASE's key. */
export function toolsmithModel(config: OrgConfig): LanguageModel {
  const persona = config.personas.find((entry) => entry.kind === "toolsmith");
  if (persona) return httpModels(config)(persona);
  const environment = environmentSettings();
  return modelFor({ server: environment.ollamaBase, modelId: environment.ollamaModel }, config.authorizations);
}

/**
 * The workflow planner's model: `override` (a command's --model), else `models.byPurpose.planning`, else
 * workflow.plannerModel on the toolsmith's server, else the toolsmith's own.
 */
export function plannerModel(config: OrgConfig, override?: string): LanguageModel {
  const base = toolsmithModel(config);
  if (override !== undefined) return base.withModelId(override, "--model");
  const fallback =
    config.workflow.plannerModel !== undefined ? base.withModelId(config.workflow.plannerModel, "workflow.plannerModel in org.config.json") : base;
  return purposeModel(config, "planning", fallback);
}
