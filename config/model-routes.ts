import { PersonaServerFields, personaServerUrl, SERVER_URL_KEY } from "../llm/persona-server.ts";
import { z } from "zod";
import { ModelApi } from "../llm/discover-window.ts";

/** org's own model calls a route may send elsewhere: the toolsmith's phases, grow's listener, compaction, diagnosis, planning, the observer. */
export const MODEL_PURPOSES = [
  "toolsmith.spec",
  "toolsmith.code",
  "toolsmith.tests",
  "grow.listener",
  "compaction",
  "diagnosis",
  "planning",
  "observe",
] as const;
export const ModelPurpose = z.enum(MODEL_PURPOSES);
export type ModelPurpose = z.infer<typeof ModelPurpose>;

/**
 * Where a route sends a call: a model id on the server of the model it stands in for, or a model on another server
 * (`SERVER_URL_KEY`, as a persona names its own; it waits for `org config trust` as a persona's does; its key is its
 * `servers` entry's), with the API org speaks there.
 */
export const ModelRoute = z.union([
  z.string().min(1).max(200),
  z.strictObject({ model: z.string().min(1).max(200), [SERVER_URL_KEY]: PersonaServerFields[SERVER_URL_KEY], api: ModelApi.optional() }),
]);
export type ModelRoute = z.infer<typeof ModelRoute>;

/**
 * `models` in org.config.json, the router (default → role → skill): a persona's own model is the default; `byPurpose`
 * picks the model of org's own calls of a purpose; `byTool` the model of the reply that follows a tool's result. `/use`
 * stays the live switch: a persona switched with it is not routed by `byTool`.
 */
export const ModelRoutes = z.strictObject({
  byPurpose: z.partialRecord(ModelPurpose, ModelRoute).optional(),
  byTool: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a tool's name"), ModelRoute).optional(),
});
export type ModelRoutes = z.infer<typeof ModelRoutes>;

/** A route as a line of `/models` and `org doctor`: `compaction → qwen3:4b` or `… → m on https://…`. */
export function describeRoute(name: string, route: ModelRoute): string {
  if (typeof route === "string") return `${name} → ${route}`;
  const server = routeServer(route);
  return `${name} → ${route.model}${server ? ` on ${server}` : ""}${route.api ? ` (${route.api} API)` : ""}`;
}

/** Every route of the settings as lines, purposes first. */
export function routeLines(routes: ModelRoutes): string[] {
  return [
    ...Object.entries(routes.byPurpose ?? {}).flatMap(([purpose, route]) => (route ? [describeRoute(purpose, route)] : [])),
    ...Object.entries(routes.byTool ?? {}).map(([tool, route]) => describeRoute(`after ${tool}`, route)),
  ];
}

/** The server a route names, if any (a model id alone stays on the server of the model it stands in for). */
export function routeServer(route: ModelRoute): string | undefined {
  return typeof route === "string" ? undefined : personaServerUrl(route);
}
