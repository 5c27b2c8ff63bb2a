import type { Completion, CompletionRequest, LanguageModel } from "./language-model.ts";

/**
 * What a wrapper adds around a model (as the AI SDK's `LanguageModelMiddleware`): `wrapStream` runs in place of
 * each completion and calls `doStream` to stream it on the model inside, when and as it chooses.
 */
export type ModelMiddleware = {
  wrapStream?: (options: { request: CompletionRequest; doStream: () => Promise<Completion>; model: LanguageModel }) => Promise<Completion>;
};

/**
 * `inner` with `middleware` around it (as the AI SDK's `wrapLanguageModel`): every member it does not wrap is the
 * inner model's, and `withModelId` wraps the new model alike, so no wrapper re-delegates the port by hand.
 */
export function wrapModel(inner: LanguageModel, middleware: ModelMiddleware): LanguageModel {
  const { wrapStream } = middleware;
  return {
    modelId: inner.modelId,
    server: inner.server,
    stream: wrapStream
      ? (request) => wrapStream({ request, doStream: () => inner.stream(request), model: inner })
      : (request) => inner.stream(request),
    listModels: (signal) => inner.listModels(signal),
    probe: (signal, timeoutMs) => inner.probe(signal, timeoutMs),
    window: (signal) => inner.window(signal),
    withModelId: (modelId, source) => wrapModel(inner.withModelId(modelId, source), middleware),
  };
}
