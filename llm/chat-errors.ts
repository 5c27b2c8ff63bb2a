import { withoutUserinfo } from "./server-url.ts";
import { chatCompletionsUrl, modelsUrl } from "./model-server-urls.ts";
import { OrgError } from "../errors/org-error.ts";

/**
 * The statuses worth asking again: too many requests, a gateway that could not reach the server or gave up waiting
 * (502, 504: a proxy in front of a server that restarts), unavailable, and Anthropic's "overloaded" (529). A 500 is
 * not: Ollama answers it for a model that cannot load, which no retry mends.
 */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504, 529]);

/** What went wrong talking to a model server; the chat loop and the room switch on it. */
export type ChatErrorKind =
  | "http" // the server answered with an error status
  | "model-not-found" // 404 for the model
  | "unreachable" // nothing listens at the base URL, or the connection failed before a response
  | "interrupted" // the stream stopped before a finish reason and before [DONE]
  | "malformed-event" // an SSE event that is not the JSON the protocol promises
  | "aborted" // the caller's signal fired
  | "context_overflow"; // the prompt does not fit the model's window (org's own count, or the server's refusal)

/** A failed completion; `partialContent` keeps whatever streamed before the failure. */
export class ChatError extends OrgError {
  override name = "ChatError";
  readonly kind: ChatErrorKind;
  readonly status?: number;
  readonly serverMessage?: string;
  readonly partialContent: string;
  readonly partialReasoning: string;
  readonly retryable: boolean;
  /** How long the server asked to wait before the next try (`retry-after`, `retry-after-ms`), when it said. */
  readonly retryAfterMs?: number;

  constructor(
    kind: ChatErrorKind,
    message: string,
    details: {
      status?: number;
      serverMessage?: string;
      partialContent?: string;
      partialReasoning?: string;
      retryAfterMs?: number | undefined;
      cause?: unknown;
    } = {},
  ) {
    // A server URL in the message (ours, or one a server's answer names) is shown without its userinfo.
    super(withoutUserinfo(message), { cause: details.cause });
    this.kind = kind;
    this.status = details.status;
    if (details.serverMessage !== undefined) this.serverMessage = withoutUserinfo(details.serverMessage);
    this.partialContent = details.partialContent ?? "";
    this.partialReasoning = details.partialReasoning ?? "";
    this.retryable = kind === "unreachable" || (details.status !== undefined && TRANSIENT_STATUSES.has(details.status));
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

/** The longest server message a room shows; a body can be megabytes. */
const MESSAGE_LIMIT = 500;

const cut = (text: string, limit = MESSAGE_LIMIT) => (text.length > limit ? `${text.slice(0, limit)}…` : text);

// Bun appends advice for its own developers to some connection errors; it means nothing to an org user.
const BUN_VERBOSE_HINT = /\s*For more information, pass `verbose: true` in the second argument to fetch\(\)\.?/g;

/** What a failed connection says, for a message: the runtime's text without its debugging advice. */
export function connectionDetail(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return cut(text.replace(BUN_VERBOSE_HINT, "").trim(), 300);
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function htmlText(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (entity, name: string) => {
      if (name.startsWith("#x") || name.startsWith("#X")) return String.fromCodePoint(Number.parseInt(name.slice(2), 16) || 32);
      if (name.startsWith("#")) return String.fromCodePoint(Number(name.slice(1)) || 32);
      return ENTITIES[name.toLowerCase()] ?? entity;
    })
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * An HTML error page (a proxy's, a web server's) in a line: its title, or its first text, cut short.
 * Undefined when the body is not HTML.
 */
export function htmlErrorSummary(body: string): string | undefined {
  const trimmed = body.trimStart();
  if (!/^(?:<!doctype html|<html\b|<head\b|<body\b|<\?xml[^>]*>\s*<!doctype html)/i.test(trimmed)) return undefined;
  const title = /<title[^>]*>([\s\S]*?)<\/title\s*>/i.exec(trimmed)?.[1];
  const titleText = title === undefined ? "" : htmlText(title);
  const bodyText = htmlText(/<body\b[\s\S]*$/i.exec(trimmed)?.[0] ?? trimmed);
  const summary = titleText !== "" ? titleText : bodyText;
  return `an HTML page${summary === "" ? "" : `: ${cut(summary, 160)}`}`;
}

/** The error's type when the body is Anthropic's (`{"type":"error","error":{"type":"overloaded_error",…}}`). */
export function serverErrorType(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object" && "type" in parsed && parsed.type === "error" && "error" in parsed) {
      const error = parsed.error;
      if (error && typeof error === "object" && "type" in error && typeof error.type === "string" && /^[a-z_]{1,40}$/.test(error.type))
        return error.type;
    }
  } catch {
    // not JSON: no type
  }
  return undefined;
}

/** Pulls the human message out of an OpenAI/Ollama/Anthropic error body: `{"error":{"message"}}`, `{"error":"…"}` or text. */
export function serverErrorMessage(body: string): string {
  const trimmed = body.trim();
  const html = htmlErrorSummary(trimmed);
  if (html !== undefined) return html;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed && typeof parsed === "object" && "error" in parsed) {
      const error = parsed.error;
      if (typeof error === "string") return cut(error);
      if (error && typeof error === "object" && "message" in error && typeof error.message === "string") {
        return cut(error.message);
      }
    }
    if (parsed && typeof parsed === "object" && "message" in parsed && typeof parsed.message === "string") {
      return cut(parsed.message);
    }
  } catch {
    // not JSON: the text itself is the message
  }
  return cut(trimmed);
}

/** How servers refuse a prompt over their window: vLLM ("maximum context length"), llama.cpp (`exceed_context_size_error`), proxies. */
const WINDOW_REFUSAL = new RegExp(
  [
    "maximum context length",
    "exceeds? the available context size",
    "exceed_context_size",
    "context (?:length|window) (?:exceeded|is exceeded)",
    "prompt is too long",
  ].join("|"),
  "i",
);

/** Builds the error for an HTTP error status, with advice on what to do next; a refusal of a prompt over the window is `context_overflow`. */
export function httpError(
  status: number,
  body: string,
  context: { baseUrl: string; model: string /** Where the model name was set, e.g. "OLLAMA_MODEL". */; modelSource?: string },
  retryAfterMs?: number,
): ChatError {
  const serverMessage = serverErrorMessage(body);
  const type = serverErrorType(body);
  if (status === 404 && /model/i.test(serverMessage)) {
    const source = context.modelSource ?? "OLLAMA_MODEL";
    return new ChatError(
      "model-not-found",
      `model '${context.model}' not found at ${context.baseUrl} (${serverMessage}). List the installed models ` +
        `with 'ollama list' (or GET ${modelsUrl(context.baseUrl)}) and fetch this one with 'ollama pull ` +
        `${context.model}', or name another in ${source}.`,
      { status, serverMessage },
    );
  }
  if (status === 404) {
    return new ChatError(
      "http",
      `no OpenAI-compatible chat API at ${chatCompletionsUrl(context.baseUrl)} (HTTP 404: ${serverMessage}). ` +
        `Check OLLAMA_BASE: it should be the server's root URL, e.g. http://127.0.0.1:11434.`,
      { status, serverMessage },
    );
  }
  if ((status === 400 || status === 413) && WINDOW_REFUSAL.test(serverMessage)) {
    return new ChatError(
      "context_overflow",
      `the model server refused the prompt as longer than its window (HTTP ${status}: ${serverMessage}). Give the persona the ` +
        `server's window as contextTokens in org.config.json ('org doctor' shows the window org found and where from).`,
      { status, serverMessage },
    );
  }
  const advice =
    status === 429 || status === 503 || status === 529
      ? `The server is busy${
          retryAfterMs !== undefined ? ` (it asks to wait ` + `${Math.ceil(retryAfterMs / 1000)} s)` : ""
        }; try again shortly or lower the room's concurrency for this server.`
      : status === 401 || status === 403
        ? "The server refused the credentials; check the API key for this server (the variable its apiKeyEnv names in org.config.json)."
        : status === 502 || status === 504
          ? "A proxy in front of the model server could not reach it or gave up waiting; try again shortly, and check that the server behind it runs."
          : status >= 500
            ? "The model server failed; its log says more (for Ollama: 'journalctl -u ollama' or the terminal running 'ollama serve')."
            : "The request was refused; the server's message says what it did not accept.";
  return new ChatError("http", `model server answered HTTP ${status}${type ? ` (${type})` : ""}: ${serverMessage}. ${advice}`, {
    status,
    serverMessage,
    retryAfterMs,
  });
}
