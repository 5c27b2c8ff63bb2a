import { errorResponse, HttpError } from "./http-error.ts";
import { loginNeededPage } from "./login-page.ts";
import type { Middleware } from "./router.ts";

/**
 * What is thrown inside becomes the JSON error answer (a page of the web room's 401 an HTML page): an `HttpError` as
 * it says, a client gone before the answer 400, anything else 500 with the request id, its stack written to `logError`
 * (never to the client).
 */
export function errorMiddleware(logError: (line: string) => void): Middleware {
  return async (context, next) => {
    const { request, requestId } = context;
    try {
      return await next(context);
    } catch (error) {
      if (error instanceof HttpError) {
        // A page of the web room, opened by a person: a 401 they can read (a tab older than the server's restart).
        if (error.status === 401 && context.match.route?.page && request.method === "GET") return loginNeededPage();
        return errorResponse(error.status, error.message, error.headers);
      }
      if (request.signal.aborted) return errorResponse(400, "the client went away before the answer.");
      // Only the path: a page's query may carry the login token, which never goes into a log.
      logError(
        `serve: request ${requestId} ${request.method} ${context.path ?? "(no URL)"} failed: ${error instanceof Error ? error.stack : String(error)}`,
      );
      return errorResponse(500, `the server failed on this request; its log has the details under request id ${requestId}.`);
    }
  };
}
