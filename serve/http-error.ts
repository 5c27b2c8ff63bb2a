import { OrgError } from "../errors/org-error.ts";

/** A request org refuses or cannot serve: the status, and a message that says what was wrong and what to do. */
export class HttpError extends OrgError {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  408: "request_timeout",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "too_many_requests",
  500: "internal_error",
  503: "unavailable",
};

/** OpenAI's error `type` for a status, so OpenAI clients (the `openai` package, the AI SDK) read org's errors as theirs. */
function openAiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/**
 * `{ "error": { "status", "code", "message", "type", "param" } }` as JSON: what every refused request gets, never a
 * stack. `type` and `param` make it OpenAI's error shape too.
 */
export function errorResponse(status: number, message: string, headers: Record<string, string> = {}, param: string | null = null): Response {
  const body = { error: { status, code: STATUS_TEXT[status] ?? "error", message, type: openAiType(status), param } };
  return Response.json(body, { status, headers });
}
