import type { PersonaConfig } from "../config/org-config.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { Persona } from "./persona.ts";
import { PERSONA_ROLES } from "./persona-roles.ts";
import { type ToolsmithJob, ToolsmithPersona } from "./toolsmith-persona.ts";

/** The persona for a configured kind, answered by `languageModel`; `toolsmithJob` is the pipeline a toolsmith runs for a tool request. */
export function createPersona(config: PersonaConfig, languageModel: LanguageModel, parts: { toolsmithJob?: ToolsmithJob } = {}): Persona {
  if (config.kind === "toolsmith") return new ToolsmithPersona(config, languageModel, parts.toolsmithJob);
  return new Persona(config, languageModel, PERSONA_ROLES[config.kind]);
}
