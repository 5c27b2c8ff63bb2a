import { z } from "zod";

/**
 * The web routes' schemas and read sizes (web-api.ts, most of it the views'), evaluated when the page first needs them
 * (a command, a read, a view shown), not before the room's first draw.
 */
export const webApi = () => import("../web-api.ts");

/** serve's error answer, as far as the page reads it. */
const ErrorBody = z.object({ error: z.object({ message: z.string() }) });

/** A request the server refused or could not answer; `message` is the server's own words. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function answer<Schema extends z.ZodType>(response: Response, schema: Schema): Promise<z.infer<Schema>> {
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const message = ErrorBody.safeParse(body).data?.error.message ?? `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, response.status === 401 ? `${message} (open the URL org web printed to log in again)` : message);
  }
  return schema.parse(body);
}

/** GET a JSON route, its answer checked with the route's schema. */
export async function getJson<Schema extends z.ZodType>(path: string, schema: Schema, signal?: AbortSignal): Promise<z.infer<Schema>> {
  return answer(await fetch(path, { headers: { accept: "application/json" }, ...(signal ? { signal } : {}) }), schema);
}

/** POST JSON to a route (the session cookie and this page's Origin go with it), its answer checked with the route's schema. */
export async function postJson<Schema extends z.ZodType>(path: string, body: unknown, schema: Schema): Promise<z.infer<Schema>> {
  return answer(
    await fetch(path, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify(body) }),
    schema,
  );
}
