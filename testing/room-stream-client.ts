// A watcher of a session's room-wide stream over a real socket, as a browser's EventSource would be: it reads SSE
// frames as they arrive, keeps each frame's `id:`, and can be dropped and waited on. Shared by serve's stream tests.
import { type RoomStreamFrame, roomStreamFrameSchemas } from "../room/room-stream-frame.ts";

export type Watcher = {
  /** The frames so far, in the order they came, each checked against the stream's schema and its `id:`. */
  readonly frames: RoomStreamFrame[];
  /** Resolves with the first frame, from `from` on, that `test` accepts; rejects after `timeoutMs` naming what it waited for. */
  waitFor(test: (frame: RoomStreamFrame) => boolean, what: string, options?: { from?: number; timeoutMs?: number }): Promise<RoomStreamFrame>;
  /** Closes the connection, as a page that goes away does. */
  drop(): void;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
};

/** One SSE frame of the room's stream: its `id:` and `data:` lines (a `retry:` or a comment alone is no frame). */
function parseFrame(text: string): RoomStreamFrame | undefined {
  let id: string | undefined;
  let data: string | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4);
    else if (line.startsWith("data: ")) {
      if (data !== undefined) throw new Error(`a frame with two data lines: ${JSON.stringify(text)}`);
      data = line.slice(6);
    } else if (!(line.startsWith(":") || line.startsWith("retry: ") || line === ""))
      throw new Error(`an unexpected SSE line: ${JSON.stringify(line)}`);
  }
  if (data === undefined) return undefined;
  const frame = roomStreamFrameSchemas().RoomStreamFrame.parse(JSON.parse(data));
  if (id !== String(frame.seq)) throw new Error(`the frame's id ${id} is not its seq ${frame.seq}`);
  return frame;
}

/**
 * Opens `url` (a `/v1/sessions/:id/events`) with `headers` and reads its frames as they come; over a socket, or straight
 * from a handler's `fetch` when given (`serve`'s handler, in the test's process).
 */
export async function watchStream(
  url: string,
  headers: Record<string, string>,
  fetcher: (request: Request) => Promise<Response> = fetch,
): Promise<Watcher> {
  const abort = new AbortController();
  const response = await fetcher(new Request(url, { headers, signal: abort.signal }));
  if (response.status !== 200 || !response.body) throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  const frames: RoomStreamFrame[] = [];
  const waiters = new Set<() => void>();
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as ReadableStream<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const frame = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (frame) frames.push(frame);
        }
        for (const wake of waiters) wake();
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  // A test that fails before it drops its watchers leaves their streams open until its server stops: the reset that
  // ends them then is no failure of whichever test runs next. Whoever awaits `ended` still sees it.
  ended.catch(() => {});
  return {
    frames,
    ended,
    drop: () => abort.abort(),
    waitFor(test, what, options = {}) {
      const from = options.from ?? 0;
      return new Promise((resolve, reject) => {
        const look = () => {
          const found = frames.slice(from).find(test);
          if (!found) return false;
          waiters.delete(wake);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const wake = () => void look();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no frame ${what} within ${options.timeoutMs ?? 20_000} ms; got ${frames.length}: ${JSON.stringify(frames.slice(-5))}`));
        }, options.timeoutMs ?? 20_000);
        if (!look()) waiters.add(wake);
      });
    },
  };
}

/** The events of a watcher's frames, with their numbers: what two watchers of one stream must agree on. */
export function numbered(frames: readonly RoomStreamFrame[]): { seq: number; type: string }[] {
  return frames.flatMap((frame) => (frame.kind === "event" ? [{ seq: frame.seq, type: frame.event.type }] : []));
}
