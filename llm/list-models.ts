import { serverEndpoint, withoutUserinfo } from "./server-url.ts";
import { connectionDetail } from "./chat-errors.ts";
import { modelsUrl } from "./model-server-urls.ts";
import { anthropicHeaders } from "./anthropic-messages.ts";
import { OrgError } from "../errors/org-error.ts";

/**
 * The model server cannot be asked for its models; the message says why and what to check. `unreachable`:
 * nothing answered; `refused`: an HTTP error such as 401; `no-list`: a server answered, but has no model list
 * there (no such route, or a body without one), though chat may still work.
 */
export class ModelListError extends OrgError {
  override name = "ModelListError";
  constructor(
    message: string,
    readonly reason: "unreachable" | "refused" | "no-list",
  ) {
    super(withoutUserinfo(message));
  }
}

export type ModelListOptions = {
  signal?: AbortSignal;
  /** Sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** The whole Authorization header (e.g. `Basic …`); wins over apiKey. */
  authorization?: string | undefined;
  /** Anthropic's API: the key as `x-api-key`, with `anthropic-version` (its `/v1/models` answers the same `{"data": [{id}]}`). */
  anthropic?: boolean | undefined;
};

/** What `GET /v1/models` answered: the HTTP status, and the model ids when the body was a model list. */
export type ModelListAnswer = { url: string; status: number; ok: boolean; models?: string[] };

/**
 * Asks a server for its models (`GET {baseUrl}/v1/models`; Ollama, llama.cpp, vLLM, LM Studio). Any HTTP
 * answer resolves; a connection that fails rejects with what fetch threw.
 */
export async function requestModelList(baseUrl: string, options: ModelListOptions = {}): Promise<ModelListAnswer> {
  // Credentials in the URL travel as a header; the URL fetched and shown carries none.
  const endpoint = serverEndpoint(baseUrl);
  const url = modelsUrl(endpoint.url);
  const authorization = endpoint.authorization ?? options.authorization ?? (options.apiKey ? `Bearer ${options.apiKey}` : undefined);
  const headers = options.anthropic ? anthropicHeaders(authorization) : authorization ? { authorization } : {};
  const response = await fetch(url, { signal: options.signal ?? null, headers });
  const body: unknown = await response.json().catch(() => undefined);
  const data: unknown[] | undefined = body && typeof body === "object" && "data" in body && Array.isArray(body.data) ? body.data : undefined;
  const models = data
    ?.map((entry) => (entry && typeof entry === "object" && "id" in entry ? entry.id : undefined))
    .filter((id): id is string => typeof id === "string");
  return { url, status: response.status, ok: response.ok, ...(models ? { models } : {}) };
}

/** The model ids a server offers; throws ModelListError when it cannot say. */
export async function listModels(baseUrl: string, options: ModelListOptions = {}): Promise<string[]> {
  let answer: ModelListAnswer;
  try {
    answer = await requestModelList(baseUrl, options);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ModelListError(
      `no model server answered at ${serverEndpoint(baseUrl).url} (${connectionDetail(error)}). Start one ` +
        `with 'ollama serve' or check the persona's baseUrl.`,
      "unreachable",
    );
  }
  if (!answer.ok) {
    throw new ModelListError(
      `${answer.url} answered HTTP ${answer.status}; is ${serverEndpoint(baseUrl).url} an OpenAI-compatible server?`,
      [404, 405, 501].includes(answer.status) ? "no-list" : "refused",
    );
  }
  if (!answer.models) throw new ModelListError(`${answer.url} did not return a model list ({"data": [...]}).`, "no-list");
  return answer.models;
}
