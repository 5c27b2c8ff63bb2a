import type { PersonaConfig } from "../config/org-config.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { Model } from "./model.ts";
import { PERSONA_ROLES } from "./persona-roles.ts";
import { type ToolsmithJob, ToolsmithModel } from "./toolsmith-model.ts";

/** The persona for a configured kind, answered by `languageModel`; `toolsmithJob` is the pipeline a toolsmith runs for a tool request. */
export function createModel(config: PersonaConfig, languageModel: LanguageModel, parts: { toolsmithJob?: ToolsmithJob } = {}): Model {
  if (config.kind === "toolsmith") return new ToolsmithModel(config, languageModel, parts.toolsmithJob);
  return new Model(config, languageModel, PERSONA_ROLES[config.kind]);
}
