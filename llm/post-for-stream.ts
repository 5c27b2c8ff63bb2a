import type { Socket } from "node:net";
import { ChunkedBody } from "./chunked-body.ts";
import { type BodyFraming, bodyFraming, headEnd, parseHead, type ResponseHead } from "./http1-head.ts";

/**
 * Bytes held for the reader before the socket is paused; a slow reader never buffers a whole stream. Bytes, not
 * pieces: a server that writes an event a write sends pieces of a few hundred bytes, and a bound on their number
 * paused the socket every few kB, which cost more than the reading.
 */
const MOST_HELD_BYTES = 1024 * 1024;

type Init = { headers: Record<string, string>; body: string; signal?: AbortSignal | undefined };

/**
 * POSTs `body` over HTTP/1.1 and resolves with the response once its head arrives; the body streams as it comes.
 *
 * Not `fetch`: Bun's fetch drops the bytes that arrive together with a connection that closes before the body's end
 * (a chunked stream cut mid-way, as a crashing model server does) and reports only ECONNRESET, so the partial reply
 * those bytes carry was lost. Not `node:http` either: its client costs several times the reading of a stream of small
 * writes, as model servers send (one event a write). Here a socket is read directly: every byte received is readable
 * before the stream's error (docs/ARCHITECTURE.md, invariant 9).
 */
export function postForStream(url: string, init: Init): Promise<Response> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(target.port || (secure ? 443 : 80));
  return new Promise((resolve, reject) => {
    if (init.signal?.aborted) {
      reject(abortError());
      return;
    }
    // Loaded at the first request, not with the module: node:net and node:tls cost a process about 15 ms of CPU to
    // load, and most commands that hold a model never call it.
    const { isIP, connect: netConnect }: typeof import("node:net") = process.getBuiltinModule("node:net");
    const tls: typeof import("node:tls") | undefined = secure ? process.getBuiltinModule("node:tls") : undefined;
    const socket = tls
      ? tls.connect({
          host,
          port,
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ALPNProtocols: ["http/1.1"],
        })
      : netConnect({ host, port });
    const onAbort = () => socket.destroy(abortError());
    init.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("close", () => init.signal?.removeEventListener("abort", onAbort));
    socket.setNoDelay(true);
    socket.write(requestText(target, init) + init.body);
    readResponse(socket, resolve, reject);
  });
}

function requestText(target: URL, init: Init): string {
  const lines = [`POST ${target.pathname}${target.search} HTTP/1.1`, `host: ${target.host}`];
  for (const [name, value] of Object.entries(init.headers)) lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${Buffer.byteLength(init.body)}`, "connection: close");
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function abortError(): Error {
  return Object.assign(new Error("the request was stopped"), { name: "AbortError", code: "ABORT_ERR" });
}

const closedEarly = (what: string) => Object.assign(new Error(`the connection was closed unexpectedly ${what} (ECONNRESET)`), { code: "ECONNRESET" });

/** Reads the head off `socket` (informational 1xx heads skipped), then hands the rest to the response's body. */
function readResponse(socket: Socket, resolve: (response: Response) => void, reject: (error: Error) => void): void {
  let pending: Uint8Array = new Uint8Array(0);
  const onData = (piece: Buffer) => {
    pending = pending.length === 0 ? piece : Buffer.concat([pending, piece]);
    try {
      for (let end = headEnd(pending); end >= 0; end = headEnd(pending)) {
        const head = parseHead(Buffer.from(pending.buffer, pending.byteOffset, end).toString("latin1"));
        pending = pending.subarray(end);
        if (head.status >= 100 && head.status < 200 && head.status !== 101) continue;
        socket.off("data", onData).off("error", onEarlyEnd).off("close", onEarlyEnd);
        resolve(responseOf(head, bodyStream(socket, bodyFraming(head), pending)));
        return;
      }
    } catch (error) {
      socket.destroy();
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const onEarlyEnd = (error?: Error | boolean) => {
    socket.destroy();
    reject(error instanceof Error ? reset(error) : closedEarly("before the response's head"));
  };
  socket.on("data", onData).on("error", onEarlyEnd).on("close", onEarlyEnd);
}

/** Node says "read ECONNRESET" for a server that drops the connection. */
function reset(error: Error & { code?: string }): Error {
  return error.code === "ECONNRESET"
    ? Object.assign(new Error("the connection was closed unexpectedly (ECONNRESET)"), { code: error.code, cause: error })
    : error;
}

function responseOf(head: ResponseHead, body: ReadableStream<Uint8Array> | null): Response {
  // A Response cannot carry a body with these statuses, nor a status outside 200-599.
  const bodiless = head.status === 204 || head.status === 205 || head.status === 304;
  const status = head.status < 200 || head.status > 599 ? 502 : head.status;
  return new Response(bodiless ? null : body, { status, statusText: head.statusText, headers: head.headers });
}

/**
 * The body after the head, framed as `framing` says, starting with `first` (what came with the head). Everything
 * received stays readable before the error of a connection that breaks before the body's end.
 */
function bodyStream(socket: Socket, framing: BodyFraming, first: Uint8Array): ReadableStream<Uint8Array> {
  const held: Uint8Array[] = [];
  let ended = framing.kind === "none";
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const chunked = framing.kind === "chunked" ? new ChunkedBody() : undefined;
  let left = framing.kind === "length" ? framing.bytes : Number.POSITIVE_INFINITY;
  let heldBytes = 0;
  const keep = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    held.push(bytes);
    heldBytes += bytes.length;
  };
  const take = (piece: Uint8Array) => {
    if (ended) return;
    if (chunked) {
      keep(chunked.push(piece));
      ended = chunked.done;
      if (chunked.failure) throw chunked.failure;
    } else {
      keep(left < piece.length ? piece.subarray(0, left) : piece);
      left -= piece.length;
      ended = left <= 0;
    }
  };
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onData = (piece: Buffer) => {
    try {
      take(piece);
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
    }
    if (ended || failure) socket.destroy();
    else if (heldBytes >= MOST_HELD_BYTES) socket.pause();
    notify();
  };
  onData(Buffer.from(first));
  socket.on("data", onData);
  socket.on("error", (error) => {
    failure ??= reset(error);
    notify();
  });
  socket.on("close", () => {
    // A body read until the close ends with it; any other closes before its end when the connection broke.
    if (framing.kind === "close") ended = true;
    else if (!ended) failure ??= closedEarly("before the response ended");
    notify();
  });
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (held.length === 0 && !ended && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (held.length > 0) {
          // Everything received so far in one piece: a read per piece costs more than the reading it serves.
          controller.enqueue(held.length === 1 ? (held.pop() ?? new Uint8Array(0)) : Buffer.concat(held.splice(0)));
          heldBytes = 0;
          if (socket.isPaused()) socket.resume();
        } else if (ended) controller.close();
        else controller.error(failure);
      },
      cancel() {
        socket.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
