import { type IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** Reads the peer's pieces are held to before the response is paused; a slow reader never buffers a whole stream. */
const MOST_HELD_PIECES = 64;

/**
 * POSTs `body` and resolves with the response once its head arrives; the body streams as it comes.
 *
 * Not `fetch`: Bun's fetch drops the bytes that arrive together with a connection that closes before the
 * body's end (a chunked stream cut mid-way, as a crashing model server does) and reports only ECONNRESET,
 * so the partial reply those bytes carry was lost. Here every byte received is readable before the
 * stream's error (docs/ARCHITECTURE.md, invariant 9).
 */
export function postForStream(url: string, init: { headers: Record<string, string>; body: string; signal?: AbortSignal | undefined }): Promise<Response> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: "POST",
        headers: { ...init.headers, "content-length": String(Buffer.byteLength(init.body)) },
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (message) => resolve(responseOf(message, () => request.destroy())),
    );
    request.on("error", (error: Error & { code?: string }) => {
      // Node says "socket hang up" or "read ECONNRESET" for a server that drops the connection before answering.
      reject(
        error.code === "ECONNRESET"
          ? Object.assign(new Error("the connection was closed unexpectedly (ECONNRESET)"), { code: error.code, cause: error })
          : error,
      );
    });
    request.end(init.body);
  });
}

function responseOf(message: IncomingMessage, stop: () => void): Response {
  const held: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  message.on("data", (piece: Uint8Array) => {
    held.push(piece);
    if (held.length >= MOST_HELD_PIECES) message.pause();
    notify();
  });
  message.on("end", () => {
    ended = true;
    notify();
  });
  const broken = () => Object.assign(new Error("the server closed it before the response ended"), { code: "ECONNRESET" });
  message.on("error", (error) => {
    // Node's own text for a cut response is just "aborted".
    failure ??= error.message === "aborted" ? broken() : error;
    notify();
  });
  message.on("close", () => {
    // Closed before its end: the connection broke. What was received stays readable first.
    if (!ended) failure ??= broken();
    notify();
  });
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (held.length === 0 && !ended && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (held.length > 0) {
          // Everything received so far in one pull: a pull per piece costs more than the reading it serves.
          for (const piece of held.splice(0)) controller.enqueue(piece);
          if (message.isPaused()) message.resume();
        } else if (ended) controller.close();
        else controller.error(failure);
      },
      cancel() {
        stop();
      },
    },
    { highWaterMark: 0 },
  );
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const each of value) headers.append(name, each);
  }
  const status = message.statusCode ?? 502;
  // A Response cannot carry a body with these statuses; none of them is a stream anyway.
  const bodiless = status === 204 || status === 205 || status === 304;
  return new Response(bodiless ? null : body, { status: status < 200 || status > 599 ? 502 : status, statusText: message.statusMessage ?? "", headers });
}
