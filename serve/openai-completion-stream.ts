import type { RoomEvent } from "../room/room-event.ts";
import type { Room } from "../room/room.ts";
import { openAiUsage, turnErrorsLine } from "./openai-usage.ts";
import { ReplyInterleaver } from "./reply-interleaver.ts";
import { type SseWrite, sseData, sseStream } from "./sse-stream.ts";

/** What every chunk of one completion repeats. */
export type CompletionStamp = { id: string; created: number; model: string };

/** A room opened for one completion: its events come to the listeners; `finish` closes it and frees the slot. */
export type CompletionRoom = { room: Room; listen(listener: (event: RoomEvent) => void): void; finish(): Promise<void> };

export type CompletionStreamOptions = {
  turn: CompletionRoom;
  /** The user's message the personas answer. */
  text: string;
  /** The persona asked (direct mode), or undefined for the whole group. */
  target: string | undefined;
  stamp: CompletionStamp;
  includeUsage: boolean;
  signal: AbortSignal;
  /** Stops the turn: the client closed the stream. */
  stop: AbortController;
  requestId: string;
  logError(line: string): void;
};

/** `stream: true`: the turn as `chat.completion.chunk` frames, then `[DONE]`; an error frame when it gave nothing. */
export function completionStream(options: CompletionStreamOptions): ReadableStream<Uint8Array> {
  return sseStream({
    run: (write) => streamTurn(options, write),
    afterRun: () => options.turn.finish(),
    cancel: () => options.stop.abort(new Error("the client closed the stream")),
  });
}

function chunkOf(stamp: CompletionStamp, choices: unknown[], usage?: ReturnType<typeof openAiUsage>) {
  return {
    id: stamp.id,
    object: "chat.completion.chunk",
    created: stamp.created,
    model: stamp.model,
    system_fingerprint: null,
    choices,
    ...(usage ? { usage } : {}),
  };
}

async function streamTurn(options: CompletionStreamOptions, write: SseWrite): Promise<void> {
  const { stamp, signal, requestId } = options;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    write(sseData(chunkOf(stamp, [{ index: 0, delta, logprobs: null, finish_reason: finishReason }])));
  chunk({ role: "assistant", content: "" });
  const replies = new ReplyInterleaver(options.target, (content) => chunk({ content }));
  options.turn.listen((event) => replies.onEvent(event));
  try {
    const summary = await options.turn.room.send(options.text, { signal });
    replies.endAll();
    if (replies.blocks === 0 && !summary.ok) {
      const message = `the room gave no answer: ${turnErrorsLine(summary)}`;
      write(sseData({ error: { message, type: "server_error", param: null, code: "no_answer" } }));
    } else {
      chunk({}, "stop");
      if (options.includeUsage) write(sseData(chunkOf(stamp, [], openAiUsage(summary.stats))));
    }
    write("data: [DONE]\n\n");
  } catch (error) {
    if (signal.aborted) return;
    options.logError(`serve: chat completion ${requestId} failed: ${error instanceof Error ? error.stack : String(error)}`);
    const message = `the turn failed inside the server; its log has the details under request id ${requestId}.`;
    write(sseData({ error: { message, type: "server_error", param: null, code: null } }));
  }
}
