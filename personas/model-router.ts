import type { OrgConfig } from "../config/org-config.ts";
import { type ModelPurpose, type ModelRoute, routeServer } from "../config/model-routes.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { modelFor } from "../llm/model-for.ts";

/**
 * The model a route names, standing in for `base`: a model id on `base`'s server (its key with it), or a model on the
 * route's own server with the key the config gives that server (`modelFor`, the one key rule).
 */
export function routedModel(config: OrgConfig, base: LanguageModel, route: ModelRoute, source: string): LanguageModel {
  if (typeof route === "string") return base.withModelId(route, source);
  const server = routeServer(route);
  if (server === undefined) return base.withModelId(route.model, source);
  const api = route.api ?? config.servers[server.replace(/\/+$/, "")]?.api;
  return modelFor({ server, modelId: route.model, modelSource: source, ...(api ? { api } : {}) }, config.authorizations);
}

/** The model of org's own calls of `purpose`: `models.byPurpose` when it names one, else `base`. */
export function purposeModel(config: OrgConfig, purpose: ModelPurpose, base: LanguageModel): LanguageModel {
  const route = config.models.byPurpose?.[purpose];
  return route === undefined ? base : routedModel(config, base, route, `models.byPurpose.${purpose} in org.config.json`);
}

/** The model of the reply that follows `tool`'s result: `models.byTool` when it names one, else undefined (the persona's own). */
export function toolRouteModel(config: OrgConfig, tool: string, base: LanguageModel): LanguageModel | undefined {
  const route = Object.hasOwn(config.models.byTool ?? {}, tool) ? config.models.byTool?.[tool] : undefined;
  return route === undefined ? undefined : routedModel(config, base, route, `models.byTool.${tool} in org.config.json`);
}

const PHASE_PURPOSES = { spec: "toolsmith.spec", implementation: "toolsmith.code", tests: "toolsmith.tests" } as const;

/** The toolsmith's phase routes (`models.byPurpose["toolsmith.spec" | "toolsmith.code" | "toolsmith.tests"]`), for `runToolsmith`'s `routePhase`. */
export function toolsmithPhaseRoutes(config: OrgConfig): (phase: keyof typeof PHASE_PURPOSES, model: LanguageModel) => LanguageModel {
  return (phase, model) => purposeModel(config, PHASE_PURPOSES[phase], model);
}
