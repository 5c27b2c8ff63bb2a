import { serverEndpoint } from "./server-url.ts";
import { type ChatRequest, chatOnce, type Sampling } from "./chat-once.ts";
import type { LanguageModel } from "./language-model.ts";
import { listModels } from "./list-models.ts";

/** Where an OpenAI-compatible model is reached, and how: the transport details no caller of the port sees. */
export type HttpModelSettings = {
  /** The server's base URL (credentials in it travel as a header, never in the URL shown). */
  server: string;
  modelId: string;
  /** Where the model id came from (e.g. "OLLAMA_MODEL"), named when the server does not have it. */
  modelSource?: string | undefined;
  apiKey?: string | undefined;
  /** The whole Authorization header value; wins over `apiKey` (credentials in the URL win over both). */
  authorization?: string | undefined;
  retry?: ChatRequest["retry"];
  /** Temperature and seed for every completion (`org patch` asks for 0 and a fixed seed); the server's defaults when absent. */
  sampling?: Sampling | undefined;
};

/** The port over `POST /v1/chat/completions` and `GET /v1/models` of any OpenAI-compatible server. */
export function httpModel(settings: HttpModelSettings): LanguageModel {
  const { server: baseUrl, modelId, modelSource, apiKey, authorization, retry, sampling } = settings;
  return {
    modelId,
    server: serverEndpoint(baseUrl).url.replace(/\/+$/, ""),
    stream: (request) =>
      chatOnce({
        ...request,
        baseUrl,
        model: modelId,
        ...(modelSource ? { modelSource } : {}),
        ...(apiKey ? { apiKey } : {}),
        authorization,
        ...(retry ? { retry } : {}),
        ...(sampling ? { sampling } : {}),
      }),
    listModels: (signal) => listModels(baseUrl, { ...(signal ? { signal } : {}), ...(apiKey ? { apiKey } : {}), authorization }),
    withModelId: (id, source) => httpModel({ ...settings, modelId: id, modelSource: source }),
  };
}
