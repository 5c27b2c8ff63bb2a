import type { RoomEvent } from "../room/room-event.ts";

const KEEP_ALIVE_MS = 15_000;

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
  const encoder = new TextEncoder();
  let open = true;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          open = false;
        }
      };
      const send = (event: RoomEvent) => write(`data: ${JSON.stringify(event)}\n\n`);
      keepAlive = setInterval(() => write(": keep-alive\n\n"), KEEP_ALIVE_MS);
      // Not awaited: the stream must flow while the turn runs.
      void options
        .run(send)
        .catch((error) => {
          if (options.signal.aborted) return;
          options.onError(error);
          send({ type: "error", message: "the turn failed inside the server; its log has the details.", kind: "internal" });
        })
        .finally(() => {
          clearInterval(keepAlive);
          if (!open) return;
          open = false;
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        });
    },
    cancel() {
      open = false;
      clearInterval(keepAlive);
      options.cancel(new Error("the client closed the event stream"));
    },
  });
}
