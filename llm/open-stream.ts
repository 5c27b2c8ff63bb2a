import { serverEndpoint } from "./server-url.ts";
import { sleep } from "../concurrency/sleep.ts";
import type { ChatRequest } from "./chat-once.ts";
import { ChatError, connectionDetail, httpError } from "./chat-errors.ts";
import { anthropicBody, anthropicHeaders } from "./anthropic-messages.ts";
import { anthropicMessagesUrl, chatCompletionsUrl } from "./model-server-urls.ts";
import { ollamaChatBody, ollamaChatUrl } from "./ollama-chat.ts";
import { postForStream } from "./post-for-stream.ts";

/** The wait a response asks for (`retry-after-ms`, or `retry-after` in seconds), when it says a sane one (up to an hour). */
function retryAfter(response: Response | undefined): number | undefined {
  const header = response?.headers.get("retry-after-ms") ?? response?.headers.get("retry-after");
  const fromHeader = header ? Number(header) * (response?.headers.has("retry-after-ms") ? 1 : 1000) : Number.NaN;
  return Number.isFinite(fromHeader) && fromHeader >= 0 && fromHeader <= 3_600_000 ? fromHeader : undefined;
}

/** The longest wait a server may ask for and still be retried within the call. */
const MAX_RETRY_WAIT_MS = 60_000;

function retryDelay(attempt: number, baseDelayMs: number, response?: Response): number {
  const fromHeader = retryAfter(response);
  if (fromHeader !== undefined && fromHeader <= MAX_RETRY_WAIT_MS) return fromHeader;
  const exponential = Math.min(baseDelayMs * 2 ** attempt, 8_000);
  return Math.round(exponential * (1 - Math.random() * 0.25));
}

export function abortedError(signal: AbortSignal | undefined, partial: { content: string; reasoning: string }): ChatError {
  const reason = signal?.reason instanceof Error ? signal.reason.message : "cancelled";
  return new ChatError("aborted", `the completion was stopped (${reason}).`, {
    partialContent: partial.content,
    partialReasoning: partial.reasoning,
  });
}

/**
 * POSTs the request (to Ollama's `/api/chat` with `ollama`, Anthropic's `/v1/messages` with `anthropic`) and returns
 * the streaming response, retrying before the first byte on connection errors, 429, 503 and 529.
 */
export async function openStream(request: ChatRequest): Promise<Response> {
  // Credentials in the URL go as a header; the URL that is fetched and shown carries none.
  const endpoint = serverEndpoint(request.baseUrl);
  const url = request.anthropic
    ? anthropicMessagesUrl(endpoint.url)
    : request.ollama
      ? ollamaChatUrl(endpoint.url)
      : chatCompletionsUrl(endpoint.url);
  const body = request.anthropic
    ? anthropicBody(request)
    : request.ollama
      ? ollamaChatBody(request, request.ollama.numCtx)
      : JSON.stringify({
          model: request.model,
          messages: request.messages,
          stream: true,
          stream_options: { include_usage: true },
          ...request.sampling,
          ...(request.tools && request.tools.length > 0 ? { tools: request.tools } : {}),
        });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: request.ollama ? "application/x-ndjson" : "text/event-stream",
  };
  const authorization = endpoint.authorization ?? request.authorization ?? (request.apiKey ? `Bearer ${request.apiKey}` : undefined);
  if (request.anthropic) Object.assign(headers, anthropicHeaders(authorization));
  else if (authorization) headers.authorization = authorization;
  const retries = request.retry?.retries ?? 2;
  const baseDelayMs = request.retry?.baseDelayMs ?? 500;
  const context = { baseUrl: endpoint.url, model: request.model, ...(request.modelSource ? { modelSource: request.modelSource } : {}) };

  for (let attempt = 0; ; attempt += 1) {
    if (request.signal?.aborted) throw abortedError(request.signal, { content: "", reasoning: "" });
    const response = await fetchOnce(url, { headers, body, signal: request.signal }, endpoint.url);
    if (response instanceof Response && response.ok) return response;
    const error =
      response instanceof Response ? httpError(response.status, await response.text().catch(() => ""), context, retryAfter(response)) : response;
    // A server that asks for more than a minute's wait is not waited for here: the error carries its retryAfterMs.
    if (!error.retryable || attempt >= retries || (error.retryAfterMs ?? 0) > MAX_RETRY_WAIT_MS) throw error;
    const delayMs = retryDelay(attempt, baseDelayMs, response instanceof Response ? response : undefined);
    request.onEvent?.({ type: "retry", attempt: attempt + 1, delayMs, reason: error.message });
    await sleep(delayMs, request.signal);
    if (request.signal?.aborted) throw abortedError(request.signal, { content: "", reasoning: "" });
  }
}

/** One POST: the response, or the error that says no server answered (a stop by the caller is thrown). */
async function fetchOnce(url: string, init: Parameters<typeof postForStream>[1], shownUrl: string): Promise<Response | ChatError> {
  try {
    // No timeout: a cold model load sends nothing for minutes. Only the caller's signal ends the wait.
    return await postForStream(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw abortedError(init.signal, { content: "", reasoning: "" });
    return new ChatError(
      "unreachable",
      `no model server answered at ${shownUrl} (${connectionDetail(error)}). Start one with 'ollama serve', ` +
        `or point OLLAMA_BASE at a running OpenAI-compatible server.`,
      { cause: error },
    );
  }
}
