import { errorResponse, HttpError } from "./http-error.ts";
import type { Middleware } from "./router.ts";

/**
 * What is thrown inside becomes the JSON error answer: an `HttpError` as it says, a client gone before the
 * answer 400, anything else 500 with the request id, its stack written to `logError` (never to the client).
 */
export function errorMiddleware(logError: (line: string) => void): Middleware {
  return async (context, next) => {
    const { request, requestId } = context;
    try {
      return await next(context);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error.status, error.message, error.headers);
      if (request.signal.aborted) return errorResponse(400, "the client went away before the answer.");
      // Only the path: a page's query may carry the login token, which never goes into a log.
      logError(
        `serve: request ${requestId} ${request.method} ${context.path ?? "(no URL)"} failed: ${error instanceof Error ? error.stack : String(error)}`,
      );
      return errorResponse(500, `the server failed on this request; its log has the details under request id ${requestId}.`);
    }
  };
}
