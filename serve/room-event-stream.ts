import type { RoomEvent } from "../room/room-event.ts";
import { sseData, sseStream } from "./sse-stream.ts";

/**
 * Server-sent events of one room turn: each event as one `data:` line holding the same JSON `chat --json`
 * prints (JSON escapes newlines, so no text can end a frame early). A comment every 15 s keeps idle
 * connections open. The client closing the stream calls `cancel`, which must stop the turn.
 */
export function roomEventStream(options: {
  run(send: (event: RoomEvent) => void): Promise<void>;
  cancel(reason: Error): void;
  onError(error: unknown): void;
  signal: AbortSignal;
}): ReadableStream<Uint8Array> {
  return sseStream({
    run: (write) => {
      const send = (event: RoomEvent) => write(sseData(event));
      return options.run(send).catch((error) => {
        if (options.signal.aborted) return;
        options.onError(error);
        send({ type: "error", message: "the turn failed inside the server; its log has the details.", kind: "internal" });
      });
    },
    cancel: () => options.cancel(new Error("the client closed the event stream")),
  });
}
