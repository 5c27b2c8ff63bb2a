import { serverEndpoint } from "./server-url.ts";
import { type ChatRequest, chatOnce, type Sampling } from "./chat-once.ts";
import { discoverWindow, OLLAMA_NUM_CTX_CAP, type ServerWindow, type WindowSettings } from "./discover-window.ts";
import type { LanguageModel } from "./language-model.ts";
import { listModels } from "./list-models.ts";
import { anthropicWindow, fallbackWindow } from "./model-window.ts";
import { NumCtxFloor, numCtxFor, roughRequestTokens } from "./ollama-chat.ts";
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
  /** On Ollama's own API, the `num_ctx` already asked per model, shared by the models made together; a model of its own without. */
  numCtxFloor?: NumCtxFloor | undefined;
};

/**
 * The port over `POST /v1/chat/completions` and `GET /v1/models` of any OpenAI-compatible server, and over Ollama's own
 * `POST /api/chat` where `api` says "ollama" (Anthropic's `POST /v1/messages` where it says "anthropic"), or is "auto" (the default) and the window's
 * discovery (`window()`,
 * which a persona asks before each reply) found Ollama: there each request's `num_ctx` is sized to its `contextTokens`
 * (`numCtxFor`), within the window. Production code makes one with `modelFor` (`model-for.ts`), which decides the
 * key; tests may make one directly.
 */
export function httpModel(settings: HttpModelSettings): LanguageModel {
  const { server: baseUrl, modelId, modelSource, authorization, retry, sampling } = settings;
  const server = serverEndpoint(baseUrl).url.replace(/\/+$/, "");
  const floor = settings.numCtxFloor ?? new NumCtxFloor();
  const anthropic = settings.api === "anthropic";
  const windows = windowCache(
    // Anthropic's API says no window: the persona's contextTokens, else what Claude models take.
    () =>
      anthropic
        ? Promise.resolve({ window: anthropicWindow(settings.contextTokens), ollamaChat: false })
        : discoverWindow(baseUrl, modelId, { ...settings, authorization }),
    () => ({ window: fallbackWindow(settings.contextTokens), ollamaChat: settings.api === "ollama" }),
  );
  return {
    modelId,
    server,
    stream: (request) => {
      const cap = ollamaCap(settings, windows.settled());
      return chatOnce({
        ...request,
        baseUrl,
        model: modelId,
        ...(modelSource ? { modelSource } : {}),
        authorization,
        ...(retry ? { retry } : {}),
        ...(sampling ? { sampling } : {}),
        ...(anthropic ? { anthropic } : {}),
        ...(cap !== undefined
          ? { ollama: { numCtx: floor.next(server, modelId, numCtxFor(request.contextTokens ?? roughRequestTokens(request), cap), cap) } }
          : {}),
      });
    },
    listModels: (signal) => listModels(baseUrl, { ...(signal ? { signal } : {}), authorization, anthropic }),
    probe: (signal, timeoutMs) => probeModelServer(baseUrl, { server, authorization, signal, timeoutMs, anthropic }),
    window: async (signal) => (await windows.get(signal)).window,
    withModelId: (id, source) => httpModel({ ...settings, modelId: id, modelSource: source, numCtxFloor: floor }),
  };
}

/** The most `num_ctx` may be when completions go through Ollama's own API; undefined for the OpenAI-compatible one. */
function ollamaCap(settings: WindowSettings, found: ServerWindow | undefined): number | undefined {
  if (settings.api === "openai" || settings.api === "anthropic") return undefined;
  if (settings.api === "ollama") return found?.window.tokens ?? settings.maxContextTokens ?? OLLAMA_NUM_CTX_CAP;
  return found?.ollamaChat ? found.window.tokens : undefined;
}
