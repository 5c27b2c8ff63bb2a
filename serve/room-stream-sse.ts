import type { RoomStream } from "../room/room-stream.ts";
import type { RoomStreamFrame } from "../room/room-stream-frame.ts";
import { HttpError } from "./http-error.ts";
import { sseStream } from "./sse-stream.ts";

/** Frames a watcher may fall behind by before it is let go (it comes back with `Last-Event-ID` and gets the rest or a reset). */
const MAX_QUEUED_FRAMES = 20_000;

/** One frame as SSE: `id:` its number (what `Last-Event-ID` gives back), one `data:` line of JSON (no text can end it early). */
export function sseFrame(frame: RoomStreamFrame): string {
  return `id: ${frame.seq}\ndata: ${JSON.stringify(frame)}\n\n`;
}

/**
 * Where a watcher resumes: `Last-Event-ID` (an EventSource sends it when it reconnects), else `?after=`, else nowhere
 * (live events only). Anything but a decimal number is a 400.
 */
export function resumeAfter(request: Request): number | undefined {
  const given = request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("after") ?? undefined;
  if (given === undefined || given === "") return undefined;
  if (!/^\d{1,16}$/.test(given))
    throw new HttpError(400, `Last-Event-ID or ?after= must be an event's number (digits), not ${JSON.stringify(given.slice(0, 40))}.`);
  return Number(given);
}

/**
 * A room's stream as server-sent events for one watcher: what it missed after `after` (or a reset), then the live
 * frames, until the client goes, the room's stream closes, or the client falls too far behind. `release` is called
 * once, when it ends.
 */
export function roomStreamSse(options: {
  stream: RoomStream;
  after: number | undefined;
  signal: AbortSignal;
  release(): void;
}): ReadableStream<Uint8Array> {
  let end: (() => void) | undefined;
  return sseStream({
    maxQueued: MAX_QUEUED_FRAMES,
    onOverflow: () => end?.(),
    run: (write) =>
      new Promise<void>((resolve) => {
        let unsubscribe: (() => void) | undefined;
        let ended = false;
        end = () => {
          if (ended) return;
          ended = true;
          unsubscribe?.();
          options.signal.removeEventListener("abort", finish);
          options.release();
          resolve();
        };
        const finish = () => end?.();
        // An EventSource waits this long (ms) before it reconnects after the stream ends.
        write("retry: 1000\n\n");
        unsubscribe = options.stream.subscribe((frame) => write(sseFrame(frame)), {
          ...(options.after !== undefined ? { after: options.after } : {}),
          onClose: finish,
        });
        if (ended) unsubscribe();
        if (options.signal.aborted) finish();
        else options.signal.addEventListener("abort", finish, { once: true });
      }),
    cancel: () => end?.(),
  });
}
