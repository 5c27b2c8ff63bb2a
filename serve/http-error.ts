/** A request org refuses or cannot serve: the status, and a message that says what was wrong and what to do. */
export class HttpError extends Error {
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
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "too_many_requests",
  500: "internal_error",
  503: "unavailable",
};

/** `{ "error": { "status", "code", "message" } }` as JSON: what every refused request gets, never a stack. */
export function errorResponse(status: number, message: string, headers: Record<string, string> = {}): Response {
  const body = { error: { status, code: STATUS_TEXT[status] ?? "error", message } };
  return Response.json(body, { status, headers });
}
