// A scripted reply as the exact server-sent events one kind of server sends: Ollama's whole tool calls, or OpenAI, llama.cpp and vLLM's argument
// fragments keyed by index.
import type { Reply } from "./script.ts";
import {
  ALNUM,
  goJson,
  HEX,
  isOllama,
  type Json,
  pieces,
  type Prepared,
  prepare,
  type RenderContext,
  type Wire,
  randomFrom,
} from "./prepare-reply.ts";

/** Server-sent events to write: each inner array is written at once (Ollama sends finish + usage + [DONE] together). */
export type StreamPlan = { writes: string[][]; finishReason: string };
/** The SSE events for a streamed reply, in the reply's wire format. */
export function renderStream(reply: Reply, context: RenderContext): StreamPlan {
  const prepared = prepare(reply, context);
  const sendUsage = context.includeUsage && reply.usage !== false;
  const created = Math.floor(Date.now() / 1000);
  switch (reply.wire) {
    case "ollama-new":
    case "ollama-index-bug":
    case "ollama-old":
      return ollamaStream(reply, prepared, context, created, sendUsage);
    case "openai":
      return openaiStream(reply, prepared, context, created, sendUsage);
    case "vllm":
      return vllmStream(reply, prepared, context, created, sendUsage);
    case "llamacpp":
      return llamacppStream(reply, prepared, context, created, sendUsage);
  }
}

function ollamaStream(reply: Reply, prepared: Prepared, context: RenderContext, created: number, sendUsage: boolean): StreamPlan {
  const old = reply.wire === "ollama-old";
  const id = `chatcmpl-${Math.floor(Math.random() * 999)}`;
  // Before v0.32.6 every chunk is stamped with the time it was written.
  const envelope = (rest: Json) => ollamaChunk(id, old ? Math.floor(Date.now() / 1000) : created, context.model, rest);
  const chunk = (delta: Json, finishReason: string | null) => envelope({ choices: [{ index: 0, delta, finish_reason: finishReason }] });
  let first = true;
  // Before v0.32.6 every delta is the whole Message struct: role and content always present.
  const delta = (fields: Json): Json => {
    const role = old || first ? { role: "assistant" } : {};
    first = false;
    return { ...role, ...fields };
  };
  const writes: string[][] = [];
  for (const piece of pieces(prepared.reasoning, reply.chunkSize)) writes.push([chunk(delta({ content: "", reasoning: piece }), null)]);
  for (const piece of pieces(prepared.content, reply.chunkSize)) writes.push([chunk(delta({ content: piece }), null)]);
  prepared.calls.forEach((call, index) => {
    const wireCall = {
      id: call.id,
      index: reply.wire === "ollama-index-bug" ? 0 : index,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    };
    writes.push([chunk(delta({ content: "", tool_calls: [wireCall] }), null)]);
  });
  if (first) writes.push([chunk(delta({ content: "" }), null)]);
  const tail = [chunk(old ? { role: "assistant", content: "" } : {}, prepared.finishReason)];
  if (sendUsage) tail.push(envelope({ choices: [], usage: prepared.usage }));
  tail.push("[DONE]");
  writes.push(tail);
  return { writes, finishReason: prepared.finishReason };
}

/** The chunk Ollama emits when the model fails mid-stream: empty model, empty content; then EOF. */
export function ollamaMidStreamErrorChunk(wire: Wire): string | undefined {
  if (!isOllama(wire)) return undefined;
  const delta = wire === "ollama-old" ? { role: "assistant", content: "" } : { content: "" };
  return ollamaChunk(`chatcmpl-${Math.floor(Math.random() * 999)}`, Math.floor(Date.now() / 1000), "", {
    choices: [{ index: 0, delta, finish_reason: null }],
  });
}

/** One chunk as Ollama's Go encoder writes it; `rest` holds choices and usage. */
function ollamaChunk(id: string, created: number, model: string, rest: Json): string {
  return goJson({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_ollama", ...rest });
}

function openaiStream(reply: Reply, prepared: Prepared, context: RenderContext, created: number, sendUsage: boolean): StreamPlan {
  const id = `chatcmpl-${randomFrom(ALNUM, 29)}`;
  const fingerprint = `fp_${randomFrom(HEX, 10)}`;
  const head = { id, object: "chat.completion.chunk", created, model: context.model, system_fingerprint: fingerprint };
  const chunk = (delta: Json, finishReason: string | null) =>
    JSON.stringify({
      ...head,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(sendUsage ? { usage: null } : {}),
    });
  const writes: string[][] = [];
  const onlyCall = prepared.content === "" && prepared.reasoning === "" && prepared.calls.length === 1 ? prepared.calls[0] : undefined;
  const opening = (call: Prepared["calls"][number], index: number) => ({
    index,
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: "" },
  });
  if (onlyCall) {
    writes.push([chunk({ role: "assistant", content: null, tool_calls: [opening(onlyCall, 0)], refusal: null }, null)]);
  } else if (prepared.content === "" && prepared.reasoning === "" && prepared.calls.length > 1) {
    writes.push([chunk({ role: "assistant", content: null }, null)]);
  } else {
    writes.push([chunk({ role: "assistant", content: "", refusal: null }, null)]);
  }
  for (const piece of pieces(prepared.reasoning, reply.chunkSize)) writes.push([chunk({ reasoning_content: piece }, null)]);
  for (const piece of pieces(prepared.content, reply.chunkSize)) writes.push([chunk({ content: piece }, null)]);
  prepared.calls.forEach((call, index) => {
    if (!onlyCall) writes.push([chunk({ tool_calls: [opening(call, index)] }, null)]);
    for (const piece of pieces(call.arguments, reply.chunkSize)) {
      writes.push([chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null)]);
    }
  });
  writes.push([chunk({}, prepared.finishReason)]);
  if (sendUsage) {
    const usage = { ...prepared.usage, completion_tokens_details: { reasoning_tokens: 0 } };
    writes.push([JSON.stringify({ ...head, choices: [], usage })]);
  }
  writes.push(["[DONE]"]);
  return { writes, finishReason: prepared.finishReason };
}

function vllmStream(reply: Reply, prepared: Prepared, context: RenderContext, created: number, sendUsage: boolean): StreamPlan {
  const id = `chatcmpl-${randomFrom(HEX, 32)}`;
  const head = { id, object: "chat.completion.chunk", created, model: context.model };
  const chunk = (delta: Json, finishReason: string | null, extra: Json = {}) =>
    JSON.stringify({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason, ...extra }] });
  const writes: string[][] = [[chunk({ role: "assistant", content: "" }, null)]];
  for (const piece of pieces(prepared.reasoning, reply.chunkSize)) writes.push([chunk({ reasoning_content: piece }, null)]);
  for (const piece of pieces(prepared.content, reply.chunkSize)) writes.push([chunk({ content: piece }, null)]);
  prepared.calls.forEach((call, index) => {
    writes.push([chunk({ tool_calls: [{ id: call.id, type: "function", index, function: { name: call.name } }] }, null)]);
    for (const piece of pieces(call.arguments, reply.chunkSize)) {
      writes.push([chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null)]);
    }
  });
  writes.push([chunk({ content: "" }, prepared.finishReason, { stop_reason: null })]);
  if (sendUsage) {
    const { prompt_tokens, completion_tokens, total_tokens } = prepared.usage;
    writes.push([JSON.stringify({ ...head, choices: [], usage: { prompt_tokens, total_tokens, completion_tokens } })]);
  }
  writes.push(["[DONE]"]);
  return { writes, finishReason: prepared.finishReason };
}

function llamacppStream(reply: Reply, prepared: Prepared, context: RenderContext, created: number, sendUsage: boolean): StreamPlan {
  const id = `chatcmpl-${randomFrom(ALNUM, 32)}`;
  const tail = { created, id, model: context.model, system_fingerprint: "b6188-d2fbc9b5", object: "chat.completion.chunk" };
  const chunk = (delta: Json, finishReason: string | null, extra: Json = {}) =>
    JSON.stringify({ choices: [{ finish_reason: finishReason, index: 0, delta }], ...tail, ...extra });
  const completionTokens = prepared.usage.completion_tokens;
  const timings = {
    prompt_n: context.promptTokens,
    prompt_ms: 12.5,
    predicted_n: completionTokens,
    predicted_ms: completionTokens * 20,
    predicted_per_second: 50,
  };
  const writes: string[][] = [[chunk({ role: "assistant", content: null }, null)]];
  for (const piece of pieces(prepared.reasoning, reply.chunkSize)) writes.push([chunk({ reasoning_content: piece }, null)]);
  for (const piece of pieces(prepared.content, reply.chunkSize)) writes.push([chunk({ content: piece }, null)]);
  prepared.calls.forEach((call, index) => {
    writes.push([chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }, null)]);
    for (const piece of pieces(call.arguments, reply.chunkSize)) {
      writes.push([chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null)]);
    }
  });
  if (sendUsage) {
    writes.push([chunk({}, prepared.finishReason)]);
    const { prompt_tokens, completion_tokens, total_tokens } = prepared.usage;
    writes.push([JSON.stringify({ choices: [], ...tail, usage: { completion_tokens, prompt_tokens, total_tokens }, timings })]);
  } else {
    writes.push([chunk({}, prepared.finishReason, { timings })]);
  }
  writes.push(["[DONE]"]);
  return { writes, finishReason: prepared.finishReason };
}
