import type { ReceivedToolCall } from "./read-chunks.ts";
import type { ReplyLimitStop } from "./stream-limit.ts";
import type { ChatMessage, ChatResult, StreamEvent, ToolDefinition } from "./chat-types.ts";
import type { ModelWindow } from "./model-window.ts";

/** One completion to stream: the conversation, the tools offered, where to cut it, and who listens. */
export type CompletionRequest = {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  signal?: AbortSignal | undefined;
  onEvent?: ((event: StreamEvent) => void) | undefined;
  /** Cut the stream after `chars` characters or once it would spend more than `tokens` (about four characters a token). */
  stopAt?: { chars?: number; tokens?: number };
  /**
   * The window this request needs, prompt and reply's reserve together, in tokens: on Ollama's own API it becomes
   * `options.num_ctx` (rounded up, within the model's window); other servers have a fixed window and ignore it.
   */
  contextTokens?: number | undefined;
};

/** A finished completion: text, reasoning, tool calls (arguments parsed or kept raw when invalid), usage, and a cut if any. */
export type Completion = ChatResult & { toolCalls: ReceivedToolCall[]; limitReached?: ReplyLimitStop };

/** What a model server said when asked for its models; `server` is the URL as org shows it. */
/**
 * What a probe found: a server that answers (with the models it lists; `failing` when it answered a server error, as a
 * proxy in front of a model server that is down does), or none that answers, and why.
 */
export type ProbeResult =
  | { server: string; reachable: true; models: string[]; failing?: string; refused?: string }
  | { server: string; reachable: false; error: string };

/**
 * The model a persona talks to (as the AI SDK's `LanguageModelV3`): stream one completion, list what the
 * server offers, probe it. How it is reached (URL, keys, retries) belongs to the implementation: `httpModel`
 * (made by `modelFor`, the one place org builds one) speaks the OpenAI-compatible protocol, `scriptedModel`
 * answers from a script in memory, for tests. `wrapModel` adds behaviour around one (a request slot, a budget).
 */
export type LanguageModel = {
  /** The model id asked for (e.g. `qwen3:8b`). */
  readonly modelId: string;
  /** Where the model runs, as org shows it (a server URL without credentials; the scripted model says `http://scripted.invalid`); also the
   * concurrency key.
   */
  readonly server: string;
  /** Streams one completion, reporting events as they arrive; throws ChatError when it fails. */
  stream(request: CompletionRequest): Promise<Completion>;
  /** The model ids the server offers; throws ModelListError when it cannot say. */
  listModels(signal?: AbortSignal): Promise<string[]>;
  /**
   * Whether the server answers, and what models it lists (empty when it says none), within a few seconds (`timeoutMs`
   * when given) and with the model's own credentials; never throws. Any HTTP answer counts as reachable, only a failed
   * connection not.
   */
  probe(signal?: AbortSignal, timeoutMs?: number): Promise<ProbeResult>;
  /**
   * How many tokens a request may hold and where that came from (the server, the persona's `contextTokens`, or the
   * stated default); asked of the server once per model value, within a few seconds; never throws.
   */
  window(signal?: AbortSignal): Promise<ModelWindow>;
  /** The same server with another model id; `source` names where the id came from (e.g. "/use"). */
  withModelId(modelId: string, source: string): LanguageModel;
};
