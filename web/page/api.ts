import type { z } from "zod";
import { fetchJson } from "./page-key.ts";

/**
 * The web routes' schemas (web-api.ts, most of it the views'), evaluated when the page first needs them (a command, a
 * read, a view shown), not before the room's first draw.
 */
export const webApi = () => import("../web-api.ts");

/** GET a JSON route (the page's key beside the cookie), its answer checked with the route's schema. */
export async function getJson<Schema extends z.ZodType>(path: string, schema: Schema, signal?: AbortSignal): Promise<z.infer<Schema>> {
  return schema.parse(await fetchJson(path, { signal }));
}

/** POST JSON to a route (the session cookie, the page's key and this page's Origin go with it), its answer checked with the route's schema. */
export async function postJson<Schema extends z.ZodType>(path: string, body: unknown, schema: Schema): Promise<z.infer<Schema>> {
  return schema.parse(await fetchJson(path, { body }));
}
