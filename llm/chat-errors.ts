import { chatCompletionsUrl, modelsUrl } from "./model-server-urls.ts";

/** What went wrong talking to a model server; the chat loop and the room switch on it. */
export type ChatErrorKind =
  | "http" // the server answered with an error status
  | "model-not-found" // 404 for the model
  | "unreachable" // nothing listens at the base URL, or the connection failed before a response
  | "interrupted" // the stream stopped before a finish reason and before [DONE]
  | "malformed-event" // an SSE event that is not the JSON the protocol promises
  | "aborted"; // the caller's signal fired

/** A failed completion; `partialContent` keeps whatever streamed before the failure. */
export class ChatError extends Error {
  override name = "ChatError";
  readonly kind: ChatErrorKind;
  readonly status?: number;
  readonly serverMessage?: string;
  readonly partialContent: string;
  readonly partialReasoning: string;
  readonly retryable: boolean;

  constructor(
    kind: ChatErrorKind,
    message: string,
    details: {
      status?: number;
      serverMessage?: string;
      partialContent?: string;
      partialReasoning?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.status = details.status;
    this.serverMessage = details.serverMessage;
    this.partialContent = details.partialContent ?? "";
    this.partialReasoning = details.partialReasoning ?? "";
    this.retryable = kind === "unreachable" || details.status === 429 || details.status === 503;
  }
}

/** Pulls the human message out of an OpenAI/Ollama error body: `{"error":{"message"}}`, `{"error":"…"}` or text. */
export function serverErrorMessage(body: string): string {
  const trimmed = body.trim();
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed && typeof parsed === "object" && "error" in parsed) {
      const error = (parsed as { error: unknown }).error;
      if (typeof error === "string") return error;
      if (error && typeof error === "object" && "message" in error && typeof error.message === "string") {
        return error.message;
      }
    }
    if (parsed && typeof parsed === "object" && "message" in parsed && typeof parsed.message === "string") {
      return parsed.message;
    }
  } catch {
    // not JSON: the text itself is the message
  }
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed;
}

/** Builds the error for an HTTP error status, with advice on what to do next. */
export function httpError(status: number, body: string, context: { baseUrl: string; model: string }): ChatError {
  const serverMessage = serverErrorMessage(body);
  if (status === 404 && /model/i.test(serverMessage)) {
    return new ChatError(
      "model-not-found",
      `model '${context.model}' not found at ${context.baseUrl} (${serverMessage}). List the installed models with 'ollama list' (or GET ${modelsUrl(context.baseUrl)}) and fetch this one with 'ollama pull ${context.model}', or pick another with OLLAMA_MODEL.`,
      { status, serverMessage },
    );
  }
  if (status === 404) {
    return new ChatError(
      "http",
      `no OpenAI-compatible chat API at ${chatCompletionsUrl(context.baseUrl)} (HTTP 404: ${serverMessage}). Check OLLAMA_BASE: it should be the server's root URL, e.g. http://127.0.0.1:11434.`,
      { status, serverMessage },
    );
  }
  const advice =
    status === 429 || status === 503
      ? "The server is busy; try again shortly or lower the room's concurrency for this server."
      : status === 401 || status === 403
        ? "The server refused the credentials; check the API key for this server."
        : status >= 500
          ? "The model server failed; its log says more (for Ollama: 'journalctl -u ollama' or the terminal running 'ollama serve')."
          : "The request was refused; the server's message says what it did not accept.";
  return new ChatError("http", `model server answered HTTP ${status}: ${serverMessage}. ${advice}`, {
    status,
    serverMessage,
  });
}
