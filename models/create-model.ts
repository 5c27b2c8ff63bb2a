import type { PersonaConfig } from "../config/org-config.ts";
import { AgentModel } from "./agent-model.ts";
import type { Model } from "./model.ts";
import { PythonModel } from "./python-model.ts";
import { SimpleContextModel } from "./simple-context-model.ts";
import { ToolsmithModel } from "./toolsmith-model.ts";

/** The persona class for a configured kind. */
export function createModel(config: PersonaConfig): Model {
  switch (config.kind) {
    case "agent":
      return new AgentModel(config);
    case "python":
      return new PythonModel(config);
    case "toolsmith":
      return new ToolsmithModel(config);
    case "simple":
      return new SimpleContextModel(config);
  }
}
