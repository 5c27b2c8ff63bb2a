import { z } from "zod";
import { modelsUrl } from "./model-server-urls.ts";
import { DEFAULT_WINDOW_TOKENS, fallbackWindow, type ModelWindow, WindowTokens } from "./model-window.ts";
import { serverEndpoint } from "./server-url.ts";

/** Which API a model is spoken to with: Ollama's own (`/api/chat`), the OpenAI-compatible one, Ollama's where the server is Ollama, or Anthropic's
 * Messages API (`/v1/messages`).
 */
export const ModelApi = z.enum(["auto", "openai", "ollama", "anthropic"]);
export type ModelApi = z.infer<typeof ModelApi>;

/** What org asks of the server's window: the persona's settings and the API it speaks. */
export type WindowSettings = {
  /** The window when the server does not say one (`personas.<name>.contextTokens`). */
  contextTokens?: number | undefined;
  /** On Ollama's own API, the most `num_ctx` org asks for (`personas.<name>.maxContextTokens`). */
  maxContextTokens?: number | undefined;
  api?: ModelApi | undefined;
};

/** What discovery found: the window, and whether completions go through Ollama's own `/api/chat`. */
export type ServerWindow = { window: ModelWindow; ollamaChat: boolean };

/** Discovery's bound: a server that has not said its window by then is taken as silent. */
export const DISCOVERY_TIMEOUT_MS = 3_000;
/** A body past this is no window answer (Ollama's `/api/show` is a few tens of KB without `verbose`). */
const BODY_LIMIT = 2 * 1024 * 1024;
/** On Ollama's own API, the most `num_ctx` org asks for unless `maxContextTokens` or the model's own setting says more. */
export const OLLAMA_NUM_CTX_CAP = 8192;

const Show = z.object({ model_info: z.record(z.string(), z.unknown()), parameters: z.string().optional() });
const Loaded = z.object({ models: z.array(z.object({ name: z.unknown(), model: z.unknown(), context_length: z.unknown() }).partial()) });
const Props = z.object({ default_generation_settings: z.object({ n_ctx: z.unknown() }) });
const ModelList = z.object({ data: z.array(z.object({ id: z.unknown() }).catchall(z.unknown())) });

type Fetch = (path: string, init?: { method: "POST"; body: string }) => Promise<unknown>;

/** Ollama resolves a bare name to `name:latest`. */
function sameModel(listed: unknown, asked: string): boolean {
  if (typeof listed !== "string") return false;
  return listed === asked || listed === `${asked}:latest` || `${listed}:latest` === asked;
}

const tokens = (value: unknown): number | undefined => {
  const parsed = WindowTokens.safeParse(typeof value === "string" && /^\d{1,9}$/.test(value) ? Number(value) : value);
  return parsed.success ? parsed.data : undefined;
};

/**
 * The window of `modelId` at `baseUrl`, from what the server says of itself, asked at once and within
 * `DISCOVERY_TIMEOUT_MS`: Ollama (`POST /api/show`: `model_info` `<arch>.context_length` and `parameters`
 * `num_ctx`; `GET /api/ps`: the context a loaded model runs at), llama.cpp (`GET /props`:
 * `default_generation_settings.n_ctx`), vLLM (`GET /v1/models`: `max_model_len`), LM Studio (`GET /api/v0/models`:
 * `loaded_context_length`, `max_context_length`); else `contextTokens`, else `DEFAULT_WINDOW_TOKENS`, said as such.
 * Every answer is hostile: read through a schema, bounded in size, a number outside `WindowTokens` ignored. Never throws.
 */
export async function discoverWindow(
  baseUrl: string,
  modelId: string,
  options: WindowSettings & { authorization?: string | undefined; signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
): Promise<ServerWindow> {
  const endpoint = serverEndpoint(baseUrl);
  const authorization = endpoint.authorization ?? options.authorization;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DISCOVERY_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const get: Fetch = (path, init) =>
    boundedJson(path.startsWith("/v1/") ? modelsUrl(endpoint.url) : new URL(path, endpoint.url).toString(), {
      ...init,
      headers: { ...(init ? { "content-type": "application/json" } : {}), ...(authorization ? { authorization } : {}) },
      signal,
    });
  const [show, loaded, props, models, lmStudio] = await Promise.all([
    get("/api/show", { method: "POST", body: JSON.stringify({ model: modelId }) }),
    get("/api/ps"),
    get("/props"),
    get("/v1/models"),
    get("/api/v0/models"),
  ]);
  const api = options.api ?? "auto";
  const ollama = ollamaWindow(show, loaded, modelId);
  if (ollama) {
    const native = api !== "openai";
    return { window: native ? nativeWindow(ollama, options) : openaiOllamaWindow(ollama, options.contextTokens), ollamaChat: native };
  }
  const found = llamaCppWindow(props) ?? vllmWindow(models, modelId) ?? lmStudioWindow(lmStudio, modelId, options.contextTokens);
  if (api === "ollama") return { window: nativeWindow({ trained: found?.trainedTokens }, options), ollamaChat: true };
  return { window: found ?? fallbackWindow(options.contextTokens), ollamaChat: false };
}

/** What Ollama said of a model: its trained length, a `num_ctx` of its Modelfile, the context it is loaded with. */
type OllamaFacts = { trained?: number | undefined; parameter?: number; runsAt?: number; arch?: string };

function ollamaWindow(show: unknown, loaded: unknown, modelId: string): OllamaFacts | undefined {
  const parsed = Show.safeParse(show);
  if (!parsed.success) return undefined;
  const info = parsed.data.model_info;
  const arch = info["general.architecture"];
  // Every model Ollama has names its architecture; an answer without one is not Ollama's.
  if (typeof arch !== "string" || arch === "" || arch.length > 100) return undefined;
  const parameter = tokens(/^num_ctx[ \t]+(\d{1,9})[ \t]*$/m.exec(parsed.data.parameters ?? "")?.[1]);
  const list = Loaded.safeParse(loaded);
  const entry = list.success ? list.data.models.find((model) => sameModel(model.name, modelId) || sameModel(model.model, modelId)) : undefined;
  const runsAt = tokens(entry?.context_length);
  return { trained: tokens(info[`${arch}.context_length`]), arch, ...(parameter ? { parameter } : {}), ...(runsAt ? { runsAt } : {}) };
}

const trainedFrom = (facts: OllamaFacts) => (facts.trained !== undefined ? { trainedTokens: facts.trained } : {});

/** On Ollama's OpenAI-compatible API org cannot set `num_ctx`: the window is what the model is loaded or set up with, else Ollama's default. */
function openaiOllamaWindow(facts: OllamaFacts, contextTokens: number | undefined): ModelWindow {
  const trained = trainedFrom(facts);
  if (facts.runsAt)
    return { tokens: facts.runsAt, source: "ollama", detail: `context_length ${facts.runsAt} of the loaded model in /api/ps`, ...trained };
  if (facts.parameter)
    return { tokens: facts.parameter, source: "ollama", detail: `num_ctx ${facts.parameter} from /api/show parameters`, ...trained };
  if (contextTokens !== undefined) return { ...fallbackWindow(contextTokens), ...trained };
  return {
    tokens: DEFAULT_WINDOW_TOKENS,
    source: "ollama",
    detail:
      `Ollama's default num_ctx of ${DEFAULT_WINDOW_TOKENS} (under 24 GiB of VRAM; ` +
      `OLLAMA_CONTEXT_LENGTH may say otherwise): set contextTokens if it does`,
    ...trained,
  };
}

/** On Ollama's own API org sets `num_ctx` per request: the window is the most it will ask, within the model's trained length. */
function nativeWindow(facts: OllamaFacts, settings: WindowSettings): ModelWindow {
  const setting = settings.maxContextTokens;
  const cap = setting ?? Math.max(OLLAMA_NUM_CTX_CAP, facts.runsAt ?? 0, facts.parameter ?? 0, settings.contextTokens ?? 0);
  const capSaid = setting !== undefined ? `maxContextTokens ${setting}` : `org's cap of ${cap} (set maxContextTokens for more)`;
  const trained = trainedFrom(facts);
  if (facts.trained !== undefined && facts.trained < cap) {
    return {
      tokens: facts.trained,
      source: "ollama",
      detail: `num_ctx set per request, up to the trained length ${facts.trained} from /api/show`,
      ...trained,
    };
  }
  return { tokens: cap, source: "ollama", detail: `num_ctx set per request, up to ${capSaid}`, ...trained };
}

function llamaCppWindow(props: unknown): ModelWindow | undefined {
  const parsed = Props.safeParse(props);
  const size = parsed.success ? tokens(parsed.data.default_generation_settings.n_ctx) : undefined;
  return size ? { tokens: size, source: "llama.cpp", detail: `n_ctx ${size} from /props` } : undefined;
}

function vllmWindow(models: unknown, modelId: string): ModelWindow | undefined {
  const parsed = ModelList.safeParse(models);
  const entry = parsed.success ? parsed.data.data.find((model) => model.id === modelId) : undefined;
  const size = tokens(entry?.max_model_len);
  return size ? { tokens: size, source: "vllm", detail: `max_model_len ${size} from /v1/models` } : undefined;
}

function lmStudioWindow(models: unknown, modelId: string, contextTokens: number | undefined): ModelWindow | undefined {
  const parsed = ModelList.safeParse(models);
  const entry = parsed.success ? parsed.data.data.find((model) => model.id === modelId) : undefined;
  if (!entry) return undefined;
  const trained = tokens(entry.max_context_length);
  const loadedAt = tokens(entry.loaded_context_length);
  const trainedTokens = trained !== undefined ? { trainedTokens: trained } : {};
  if (loadedAt) return { tokens: loadedAt, source: "lm-studio", detail: `loaded_context_length ${loadedAt} from /api/v0/models`, ...trainedTokens };
  return trained !== undefined ? { ...fallbackWindow(contextTokens), ...trainedTokens } : undefined;
}

/** A JSON answer of at most BODY_LIMIT bytes, or undefined: no answer, an HTTP error, too big, not JSON. */
async function boundedJson(url: string, init: RequestInit): Promise<unknown> {
  try {
    const response = await fetch(url, init);
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      return undefined;
    }
    const reader = response.body.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > BODY_LIMIT) {
        await reader.cancel();
        return undefined;
      }
      parts.push(value);
    }
    return JSON.parse(Buffer.concat(parts).toString("utf8"));
  } catch {
    return undefined;
  }
}
