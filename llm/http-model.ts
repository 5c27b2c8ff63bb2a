import { serverEndpoint } from "./server-url.ts";
import { type ChatRequest, chatOnce, type Sampling } from "./chat-once.ts";
import { discoverWindow, type WindowSettings } from "./discover-window.ts";
import type { LanguageModel } from "./language-model.ts";
import { listModels } from "./list-models.ts";
import { fallbackWindow } from "./model-window.ts";
import { probeModelServer } from "./probe-model-server.ts";
import { windowCache } from "./window-cache.ts";

/** Where an OpenAI-compatible model is reached, and how: the transport details no caller of the port sees. */
export type HttpModelSettings = WindowSettings & {
  /** The server's base URL (credentials in it travel as a header, never in the URL shown). */
  server: string;
  modelId: string;
  /** Where the model id came from (e.g. "OLLAMA_MODEL"), named when the server does not have it. */
  modelSource?: string | undefined;
  /** The whole Authorization header value (credentials in the URL win over it); `modelFor` gives the one its server's key makes. */
  authorization?: string | undefined;
  retry?: ChatRequest["retry"];
  /** Temperature and seed for every completion (`org patch` asks for 0 and a fixed seed); the server's defaults when absent. */
  sampling?: Sampling | undefined;
};

/**
 * The port over `POST /v1/chat/completions` and `GET /v1/models` of any OpenAI-compatible server. Production code
 * makes one with `modelFor` (`model-for.ts`), which decides the key; tests may make one directly.
 */
export function httpModel(settings: HttpModelSettings): LanguageModel {
  const { server: baseUrl, modelId, modelSource, authorization, retry, sampling } = settings;
  const server = serverEndpoint(baseUrl).url.replace(/\/+$/, "");
  const windows = windowCache(
    () => discoverWindow(baseUrl, modelId, { ...settings, authorization }),
    () => ({ window: fallbackWindow(settings.contextTokens), ollamaChat: settings.api === "ollama" }),
  );
  return {
    modelId,
    server,
    stream: (request) =>
      chatOnce({
        ...request,
        baseUrl,
        model: modelId,
        ...(modelSource ? { modelSource } : {}),
        authorization,
        ...(retry ? { retry } : {}),
        ...(sampling ? { sampling } : {}),
      }),
    listModels: (signal) => listModels(baseUrl, { ...(signal ? { signal } : {}), authorization }),
    probe: (signal, timeoutMs) => probeModelServer(baseUrl, { server, authorization, signal, timeoutMs }),
    window: async (signal) => (await windows.get(signal)).window,
    withModelId: (id, source) => httpModel({ ...settings, modelId: id, modelSource: source }),
  };
}
