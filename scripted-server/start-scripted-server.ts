import { sleep } from "../concurrency/sleep.ts";
import { checkChatRequest } from "./check-chat-request.ts";
import { base64Embedding, fakeEmbedding } from "./embeddings.ts";
import { type ChatRequestView, messageText, RuleMatcher } from "./match-rule.ts";
import { isJsonRecord } from "./json-record.ts";
import { goJson } from "./prepare-reply.ts";
import { anthropicMessagesResponse } from "./anthropic-messages-response.ts";
import { ollamaChatResponse, type WindowRecord } from "./ollama-chat-response.ts";
import { type ContextOverflow, fitPrompt, type ScriptedWindow, vllmOverflowBody } from "./prompt-window.ts";
import { renderCompletion } from "./render-completion.ts";
import { ollamaMidStreamErrorChunk, renderStream } from "./render-stream.ts";
import { type Reply, type Script, type ScriptInput, validateScript } from "./script.ts";

/** One request the server received. `body` is the parsed JSON, the raw text if it did not parse, or null without a body. */
export type RecordedRequest = {
  method: string;
  path: string;
  body: unknown;
  /** The Authorization header it carried, if any: tests check which credentials reached which server. */
  authorization?: string;
  /** The `x-api-key` header it carried (Anthropic's key), if any. */
  apiKey?: string;
  time: number;
  /** What the server did: e.g. `rule 2`, `fallback`, `no rule`, `404`. */
  outcome?: string;
  /** With a window (`contextTokens`), a chat request's: the size it ran at (`num_ctx` on `/api/chat`), its prompt's tokens, the messages dropped. */
  window?: WindowRecord;
};

export type ScriptedServer = {
  /** `http://HOST:PORT`, no trailing slash. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

export type ScriptedServerOptions = {
  script: Script | ScriptInput;
  /** 0 (default) picks a free port. */
  port?: number;
  hostname?: string;
  signal?: AbortSignal;
  /** Called once a request is answered (its outcome filled in). */
  onRequest?: (request: RecordedRequest) => void;
  /**
   * The model's window in tokens, counted by the rule of `prompt-window.ts`: said by `/api/show`, `/api/ps`, `/props` and
   * `/v1/models`, and enforced on every chat request (on `/api/chat`, `options.num_ctx` when given). None by default.
   */
  contextTokens?: number;
  /** Past the window: `refuse` (default; HTTP 400 as vLLM says it) or `drop` the oldest messages but the system prompt (as Ollama does). */
  contextOverflow?: ContextOverflow;
  /** Says `model_info` in `/api/show` as Ollama does (architecture, trained length), so org speaks `/api/chat` to it. */
  ollama?: boolean;
};

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** Ollama's error body: `{"error":{"message","type","param":null,"code":null}}` plus a newline. */
function errorResponse(status: number, message: string, retryAfterS?: number): Response {
  const type = status === 400 ? "invalid_request_error" : status === 404 ? "not_found_error" : "api_error";
  const headers = retryAfterS === undefined ? JSON_HEADERS : { ...JSON_HEADERS, "retry-after": String(retryAfterS) };
  return new Response(`${goJson({ error: { message, type, param: null, code: null } })}\n`, { status, headers });
}

const DEFAULT_FAULT_MESSAGES: Record<number, string> = {
  429: "too many requests, please slow down",
  500: "an error was encountered while running the model",
  503: "server busy, please try again.  maximum pending requests exceeded",
};

/** What Anthropic says with each status it answers. */
const ANTHROPIC_FAULT_MESSAGES: Record<number, string> = {
  401: "invalid x-api-key",
  429: "Number of request tokens has exceeded your per-minute rate limit",
  529: "Overloaded",
};

const jsonResponse = (value: unknown) => new Response(`${goJson(value)}\n`, { headers: JSON_HEADERS });

/** Ollama resolves a bare name to `name:latest`. */
const sameModel = (served: string, asked: string) => served === asked || served === `${asked}:latest` || `${served}:latest` === asked;

const ROUTES: Record<string, string[]> = {
  "/": ["GET", "HEAD"],
  "/api/version": ["GET"],
  "/api/tags": ["GET", "HEAD"],
  "/api/show": ["POST"],
  "/api/embed": ["POST"],
  "/api/chat": ["POST"],
  "/api/ps": ["GET"],
  "/props": ["GET"],
  "/v1/models": ["GET"],
  "/v1/embeddings": ["POST"],
  "/v1/chat/completions": ["POST"],
  "/v1/messages": ["POST"],
};

function streamResponse(reply: Reply, body: Record<string, unknown>, model: string, promptTokens: number, signal: AbortSignal): Response {
  const streamOptions = body.stream_options;
  const plan = renderStream(reply, { model, includeUsage: isJsonRecord(streamOptions) && streamOptions.include_usage === true, promptTokens });
  const fault = reply.fault;
  const cutAfter = fault && "cutAfterChunks" in fault ? fault.cutAfterChunks : undefined;
  const cutMidEvent = fault && "cutAfterChunks" in fault ? fault.midEvent === true : false;
  const cutByReset = fault && "cutAfterChunks" in fault ? fault.reset === true : false;
  const malformedAfter = fault && "malformedAfterChunks" in fault ? fault.malformedAfterChunks : undefined;
  const encoder = new TextEncoder();
  const frame = (data: string) => `data: ${data}\n\n`;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      let sent = 0;
      let held = "";
      for (const [writeIndex, write] of plan.writes.entries()) {
        if (writeIndex > 0) await sleep(reply.delayMs, signal);
        if (cancelled || signal.aborted) return;
        let text = "";
        for (const event of write) {
          if (cutAfter !== undefined && sent >= cutAfter) {
            if (cutMidEvent) {
              const whole = frame(event);
              text += whole.slice(0, Math.ceil(whole.length / 2));
            } else {
              // Ollama's silent mid-stream failure: one empty chunk with model "", then EOF without [DONE].
              const errorChunk = ollamaMidStreamErrorChunk(reply.wire);
              if (errorChunk) text += frame(errorChunk);
            }
            if (cutByReset) text = held + text;
            if (text) controller.enqueue(encoder.encode(text));
            if (cutByReset) {
              // Sent first, then the stream fails: Bun closes the connection without the chunked terminator.
              await new Promise((resolve) => setImmediate(resolve));
              controller.error(new Error("scripted fault: the connection is dropped mid-stream (cutAfterChunks with reset)"));
            } else controller.close();
            return;
          }
          if (malformedAfter !== undefined && sent === malformedAfter && event !== "[DONE]") {
            text += frame(`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":`);
          }
          text += frame(event);
          if (event !== "[DONE]") sent += 1;
        }
        // A reset sends what comes before it in one piece with the drop, as a server that dies at once does.
        if (cutByReset) held += text;
        else controller.enqueue(encoder.encode(text));
      }
      if (held) controller.enqueue(encoder.encode(held));
      controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  const charset = reply.wire === "openai" || reply.wire === "vllm" ? "; charset=utf-8" : "";
  return new Response(stream, { headers: { "content-type": `text/event-stream${charset}` } });
}

/** What the server serves: the script, its rule matcher (which counts `times`), the models' `created`, its window and mode. */
type Served = { script: Script; matcher: RuleMatcher; created: number; window: ScriptedWindow | undefined; ollama: boolean };

/** `POST /v1/chat/completions`: Ollama's checks, then the first matching rule's reply, streamed or whole. */
async function chatResponse(served: Served, request: Request, record: RecordedRequest): Promise<Response> {
  const fields = record.body;
  if (!isJsonRecord(fields)) {
    return errorResponse(
      400,
      typeof fields === "string" ? `invalid character in request body: ${JSON.stringify(fields.slice(0, 40))}` : "request body must be a JSON object",
    );
  }
  const problem = checkChatRequest(fields, (model) => served.script.models.some((name) => sameModel(name, model)));
  if (problem) return errorResponse(problem.status, problem.message);
  // checkChatRequest has made sure of a model and a list of message objects.
  const model = typeof fields.model === "string" ? fields.model : "";
  let messages = Array.isArray(fields.messages) ? fields.messages.filter(isJsonRecord) : [];
  let windowTokens: number | undefined;
  if (served.window) {
    const fitted = fitPrompt(messages, fields.tools, served.window);
    if ("refused" in fitted) {
      record.window = { tokens: fitted.window, promptTokens: fitted.promptTokens, dropped: 0 };
      record.outcome = "over the window";
      return new Response(`${JSON.stringify(vllmOverflowBody(fitted, fields.max_tokens))}\n`, { status: 400, headers: JSON_HEADERS });
    }
    record.window = { tokens: fitted.window, promptTokens: fitted.promptTokens, dropped: fitted.dropped };
    messages = fitted.messages;
    windowTokens = fitted.promptTokens;
  }
  const view: ChatRequestView = { model, messages, toolNames: offeredToolNames(fields.tools) };
  const { reply, ruleIndex } = served.matcher.pick(view);
  record.outcome = ruleIndex === "fallback" ? "fallback" : ruleIndex === "none" ? "no rule matched" : `rule ${ruleIndex}`;
  await sleep(reply.firstByteDelayMs, request.signal);
  if (request.signal.aborted) return new Response(null, { status: 499 });
  if (reply.fault && "status" in reply.fault) {
    const { status } = reply.fault;
    return errorResponse(status, reply.fault.message ?? DEFAULT_FAULT_MESSAGES[status] ?? `scripted error ${status}`, reply.fault.retryAfterS);
  }
  const promptCharacters = view.messages.reduce((sum, message) => sum + messageText(message.content).length, 0);
  const promptTokens = windowTokens ?? Math.max(1, Math.ceil(promptCharacters / 4));
  if (fields.stream === true) return streamResponse(reply, fields, model, promptTokens, request.signal);
  const completion = renderCompletion(reply, { model, includeUsage: true, promptTokens });
  if (reply.fault && ("cutAfterChunks" in reply.fault || "malformedAfterChunks" in reply.fault)) {
    return new Response(completion.slice(0, Math.floor(completion.length / 2)), { headers: JSON_HEADERS });
  }
  return new Response(completion, { headers: JSON_HEADERS });
}

/** `POST /api/embed` (Ollama's shape) or, with `openai`, `POST /v1/embeddings`: a made-up vector per input. */
function embedResponse(record: RecordedRequest, openai: boolean, meanings: Script["meanings"]): Response {
  const body = isJsonRecord(record.body) ? record.body : {};
  if (typeof body.model !== "string" || body.model === "") return errorResponse(400, "model is required");
  const inputs: unknown = typeof body.input === "string" ? [body.input] : body.input;
  if (!Array.isArray(inputs) || !inputs.every((input): input is string => typeof input === "string")) return errorResponse(400, "invalid input type");
  const dimensions = typeof body.dimensions === "number" && body.dimensions > 0 ? Math.floor(body.dimensions) : 768;
  const vectors = inputs.map((input) => fakeEmbedding(input, dimensions, meanings));
  const tokens = inputs.reduce((sum, input) => sum + Math.ceil(input.length / 4), 0);
  if (openai) {
    // The openai npm package asks for base64 by default and decodes it as little-endian float32.
    const format = body.encoding_format ?? "float";
    if (format !== "float" && format !== "base64")
      return errorResponse(400, `invalid encoding_format ${JSON.stringify(format)}: use "float" or "base64"`);
    return jsonResponse({
      object: "list",
      data: vectors.map((vector, index) => ({ object: "embedding", embedding: format === "base64" ? base64Embedding(vector) : vector, index })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }
  return jsonResponse({ model: body.model, embeddings: vectors, total_duration: 14143917, load_duration: 1019500, prompt_eval_count: tokens });
}

/** `GET /api/tags`: Ollama's list of local models. */
function tagList({ script, created }: Served) {
  return {
    models: script.models.map((name) => {
      const digest = new Bun.CryptoHasher("sha256").update(name).digest("hex");
      return {
        name,
        model: name,
        modified_at: new Date(created * 1000).toISOString(),
        size: 5_225_376_047,
        digest,
        details: { parent_model: "", format: "gguf", family: "qwen3", families: ["qwen3"], parameter_size: "8.2B", quantization_level: "Q4_K_M" },
      };
    }),
  };
}

/** `POST /api/show`: what Ollama says of a model it has, capabilities included (a scripted model calls tools); else its 404. */
function showModel({ script, window, ollama }: Served, record: RecordedRequest): Response {
  const body = isJsonRecord(record.body) ? record.body : {};
  const asked = typeof body.model === "string" ? body.model : typeof body.name === "string" ? body.name : "";
  if (!script.models.some((name) => sameModel(name, asked))) return errorResponse(404, `model '${asked}' not found`);
  return jsonResponse({
    modelfile: "",
    parameters: window ? `num_ctx                        ${window.tokens}` : "",
    template: "{{ .Prompt }}",
    details: { parent_model: "", format: "gguf", family: "qwen3", families: ["qwen3"], parameter_size: "8.2B", quantization_level: "Q4_K_M" },
    // Ollama names the architecture and its trained length; without the Ollama mode org takes this for another server.
    model_info: ollama ? { "general.architecture": "scripted", "scripted.context_length": window?.tokens ?? 32768 } : {},
    capabilities: ["completion", "tools"],
  });
}

/** One request to the route it names: 404 or 405 as Ollama's Go router says them, else the route's answer. */
async function routeRequest(served: Served, request: Request, record: RecordedRequest, server: Bun.Server<undefined>): Promise<Response> {
  const { script, created } = served;
  const path = record.path;
  const modelPath = path.startsWith("/v1/models/") ? decodeURIComponent(path.slice("/v1/models/".length)) : undefined;
  const allowed = modelPath !== undefined ? ["GET"] : ROUTES[path];
  if (!allowed) return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
  if (!allowed.includes(request.method)) {
    return new Response("405 method not allowed", { status: 405, headers: { "content-type": "text/plain", allow: allowed.join(", ") } });
  }
  if (modelPath !== undefined) {
    if (!script.models.some((name) => sameModel(name, modelPath))) return errorResponse(404, `model "${modelPath}" not found`);
    return jsonResponse({ id: modelPath, object: "model", created, owned_by: "library" });
  }
  switch (path) {
    case "/":
      return new Response("Ollama is running", { headers: { "content-type": "text/plain; charset=utf-8" } });
    case "/api/version":
      return jsonResponse({ version: "0.33.0" });
    case "/api/tags":
      return jsonResponse(tagList(served));
    case "/api/show":
      return showModel(served, record);
    case "/v1/models":
      return jsonResponse({
        object: "list",
        data: script.models.map((id) => ({
          id,
          object: "model",
          created,
          owned_by: "library",
          ...(served.window ? { max_model_len: served.window.tokens } : {}),
        })),
      });
    case "/api/ps":
      return jsonResponse({
        models: served.window ? script.models.map((name) => ({ name, model: name, context_length: served.window?.tokens })) : [],
      });
    case "/props":
      if (!served.window) return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
      return jsonResponse({ default_generation_settings: { n_ctx: served.window.tokens }, total_slots: 1 });
    case "/api/chat":
      server.timeout(request, 0);
      return ollamaChatResponse(
        {
          script,
          matcher: served.matcher,
          isServed: (model) => script.models.some((name) => sameModel(name, model)),
          window: served.window ? { ...served.window, trained: served.window.tokens } : undefined,
          faultMessage: (status) => DEFAULT_FAULT_MESSAGES[status] ?? `scripted error ${status}`,
        },
        request,
        record,
      );
    case "/v1/messages":
      server.timeout(request, 0);
      return anthropicMessagesResponse(
        {
          matcher: served.matcher,
          isServed: (model) => script.models.some((name) => sameModel(name, model)),
          faultMessage: (status) => ANTHROPIC_FAULT_MESSAGES[status] ?? DEFAULT_FAULT_MESSAGES[status] ?? `scripted error ${status}`,
        },
        request,
        record,
      );
    case "/api/embed":
      return embedResponse(record, false, served.script.meanings);
    case "/v1/embeddings":
      return embedResponse(record, true, served.script.meanings);
    default:
      // A cold model load sends nothing for a long time: no idle timeout on chat requests.
      server.timeout(request, 0);
      return chatResponse(served, request, record);
  }
}

/** The record of a request as it came: its body parsed as JSON, or kept as text if it does not parse. */
async function recordOf(request: Request): Promise<RecordedRequest> {
  const text = request.method === "POST" ? await request.text() : "";
  // A request without a body (a GET: the model list, a window's discovery) records null, so a test that reads every body as JSON can.
  let body: unknown = null;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const authorization = request.headers.get("authorization") ?? undefined;
  const apiKey = request.headers.get("x-api-key") ?? undefined;
  return {
    ...(apiKey !== undefined ? { apiKey } : {}),
    method: request.method,
    path: new URL(request.url).pathname,
    body,
    ...(authorization !== undefined ? { authorization } : {}),
    time: Date.now(),
  };
}

/** Starts the scripted OpenAI-compatible model server on 127.0.0.1 (by default on a free port). */
export async function startScriptedServer(options: ScriptedServerOptions): Promise<ScriptedServer> {
  const script = validateScript(options.script, "script");
  const window = options.contextTokens !== undefined ? { tokens: options.contextTokens, overflow: options.contextOverflow ?? "refuse" } : undefined;
  const served: Served = {
    script,
    matcher: new RuleMatcher(script),
    created: Math.floor(Date.now() / 1000) - 3600,
    window,
    ollama: options.ollama === true,
  };
  const requests: RecordedRequest[] = [];
  const server = Bun.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    async fetch(request, server) {
      const record = await recordOf(request);
      requests.push(record);
      const response = await routeRequest(served, request, record, server);
      record.outcome = record.outcome ? `${response.status} ${record.outcome}` : String(response.status);
      options.onRequest?.(record);
      return response;
    },
  });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= server.stop(true);
    return stopped;
  };
  options.signal?.addEventListener("abort", () => void stop(), { once: true });
  if (options.signal?.aborted) await stop();
  const port = server.port ?? 0;
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return { url: `http://${host}:${port}`, port, requests, stop, [Symbol.asyncDispose]: stop };
}

/** The names of the tools a request offers (`tools[].function.name`); anything malformed is skipped. */
function offeredToolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((tool) =>
    isJsonRecord(tool) && isJsonRecord(tool.function) && typeof tool.function.name === "string" ? [tool.function.name] : [],
  );
}
