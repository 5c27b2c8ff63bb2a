import type { PersonaConfig } from "../config/org-config.ts";
import { AgentModel } from "./agent-model.ts";
import type { Model } from "./model.ts";
import { PythonModel } from "./python-model.ts";
import { SimpleContextModel } from "./simple-context-model.ts";
import { type ToolsmithJob, ToolsmithModel } from "./toolsmith-model.ts";

/** The persona class for a configured kind; `toolsmithJob` is the pipeline a toolsmith runs for a tool request. */
export function createModel(config: PersonaConfig, parts: { toolsmithJob?: ToolsmithJob } = {}): Model {
  switch (config.kind) {
    case "agent":
      return new AgentModel(config);
    case "python":
      return new PythonModel(config);
    case "toolsmith":
      return new ToolsmithModel(config, parts.toolsmithJob);
    case "simple":
      return new SimpleContextModel(config);
  }
}
