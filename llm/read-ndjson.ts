import { ChatError } from "./chat-errors.ts";
import { type CompletionAssembly, readBody } from "./completion-assembly.ts";
import { isRecord } from "./ollama-chat.ts";

/**
 * One line of Ollama's `/api/chat` stream as the OpenAI-compatible chunk the assembly reads: `message.content`,
 * `message.thinking` as reasoning, `message.tool_calls` as whole calls (each its own call: no index), and on the last
 * line (`done: true`) `done_reason` and the usage (`prompt_eval_count`, `eval_count`). `{"error": …}` stays an error.
 */
export function ollamaLineAsChunk(value: unknown, callsSeen: boolean): unknown {
  if (!isRecord(value)) return value;
  if (value.error !== undefined) return { error: value.error };
  const message = isRecord(value.message) ? value.message : {};
  const calls = Array.isArray(message.tool_calls)
    ? message.tool_calls.map((call: unknown) =>
        isRecord(call)
          ? { id: call.id, function: isRecord(call.function) ? { name: call.function.name, arguments: call.function.arguments } : undefined }
          : call,
      )
    : undefined;
  const delta = { content: message.content, reasoning: message.thinking, ...(calls ? { tool_calls: calls } : {}) };
  if (value.done !== true) return { choices: [{ delta, finish_reason: null }] };
  const reason = typeof value.done_reason === "string" && value.done_reason !== "" ? value.done_reason : "stop";
  // Ollama says "stop" after calls; the OpenAI-compatible API (and so the rest of org) says "tool_calls".
  const finish = reason === "stop" && (callsSeen || (calls?.length ?? 0) > 0) ? "tool_calls" : reason;
  return { choices: [{ delta, finish_reason: finish }], usage: { prompt_tokens: value.prompt_eval_count, completion_tokens: value.eval_count } };
}

/**
 * Feeds the NDJSON lines of `response` to `assembly` until the line with `done: true`, a limit, a failure or the end of
 * the body (the sibling of chat-once's SSE reader). Returns whether the stream was finished; throws its failure. A line
 * that is not JSON is a malformed stream, or an interruption when it is the body's cut-off last line.
 */
export async function readNdjson(response: Response, assembly: CompletionAssembly, signal: AbortSignal | undefined): Promise<boolean> {
  let done = false;
  let callsSeen = false;
  let held = "";
  const stopped = () => done || assembly.failure !== undefined || assembly.limit.reached !== undefined;
  const onLine = (line: string, atEnd: boolean) => {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (stopped() || text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      assembly.failure = atEnd
        ? new ChatError(
            "interrupted",
            "the model server closed the stream in the middle of a line; the partial reply is kept. Ask again to retry.",
            assembly.partial(),
          )
        : new ChatError(
            "malformed-event",
            `the model server sent a line that is not valid JSON: ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}. ` +
              `The server or a proxy in between is not speaking Ollama's streaming protocol; set "api": "openai" on the ` +
              `persona to use the OpenAI-compatible one.`,
            assembly.partial(),
          );
      return;
    }
    const chunk = ollamaLineAsChunk(value, callsSeen);
    assembly.add(chunk);
    if (isRecord(value) && isRecord(value.message) && Array.isArray(value.message.tool_calls) && value.message.tool_calls.length > 0)
      callsSeen = true;
    if (isRecord(value) && value.done === true && assembly.failure === undefined) done = true;
  };
  const feed = (piece: string) => {
    let start = 0;
    let text = piece;
    let from = 0;
    if (held !== "") {
      // Look for the line's end only in the new piece: a long line that comes in many reads is scanned once.
      from = held.length;
      text = held + piece;
    }
    for (let end = text.indexOf("\n", from); end !== -1 && !stopped(); end = text.indexOf("\n", start)) {
      onLine(text.slice(start, end), false);
      start = end + 1;
    }
    held = text.slice(start);
  };
  await readBody(response, assembly, signal, stopped, {
    text: feed,
    end: (rest) => {
      if (stopped()) return;
      feed(rest);
      if (held !== "") onLine(held, true);
      assembly.settle();
    },
  });
  return done || assembly.limit.reached !== undefined;
}
