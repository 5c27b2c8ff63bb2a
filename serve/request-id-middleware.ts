import { RequestId } from "./api-schemas.ts";
import type { Middleware } from "./router.ts";

/** The client's `x-request-id` when it fits `RequestId`, else a new one; echoed on every answer. */
export const requestIdMiddleware: Middleware = async (context, next) => {
  const given = context.request.headers.get("x-request-id");
  const requestId = given !== null && RequestId.safeParse(given).success ? given : crypto.randomUUID();
  const response = await next({ ...context, requestId });
  if (!response.headers.has("x-request-id")) response.headers.set("x-request-id", requestId);
  return response;
};
