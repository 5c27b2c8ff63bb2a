const KEEP_ALIVE_MS = 15_000;

/** Writes one piece of a server-sent-event stream (whole frames); a no-op once the stream is closed. */
export type SseWrite = (text: string) => void;

/**
 * A server-sent-event stream that `run` writes to while it runs: a comment every 15 s keeps idle connections
 * open, and the stream closes once `run` has settled and `afterRun` (if any) is done. A write after the client
 * left is dropped. The client closing the stream calls `cancel`, which must stop what `run` is doing. `run`
 * handles its own failures: what it rejects with is not caught here. With `maxQueued`, a client that falls more
 * than that many writes behind is let go: the stream ends after what is queued, and `onOverflow` is called (a
 * client of a resumable stream comes back with the last id it read).
 */
export function sseStream(options: {
  run(write: SseWrite): Promise<void>;
  afterRun?(): Promise<void>;
  cancel(): void;
  maxQueued?: number;
  onOverflow?(): void;
}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let open = true;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const close = () => {
        if (!open) return;
        open = false;
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      const write: SseWrite = (text) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          open = false;
          return;
        }
        if (options.maxQueued !== undefined && (controller.desiredSize ?? 0) < -options.maxQueued) {
          close();
          options.onOverflow?.();
        }
      };
      keepAlive = setInterval(() => write(": keep-alive\n\n"), KEEP_ALIVE_MS);
      // Not awaited: the stream must flow while the turn runs.
      void options.run(write).finally(async () => {
        clearInterval(keepAlive);
        // Closed even when afterRun fails, so the client is never left waiting.
        await options.afterRun?.().finally(close);
        close();
      });
    },
    cancel() {
      open = false;
      clearInterval(keepAlive);
      options.cancel();
    },
  });
}

/** One SSE frame holding `value` as JSON (JSON escapes newlines, so no text can end a frame early). */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}
