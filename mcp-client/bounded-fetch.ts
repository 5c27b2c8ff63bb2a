import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

/** Statuses whose response has no body (a Response cannot be made with one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

const LF = 0x0a;
const CR = 0x0d;

/**
 * A fetch for the SDK's Streamable HTTP transport whose response bodies fail past `maxBytes` of one message: a whole
 * body, or of an event stream one event (the bytes between blank lines; the stream may go on for hours). The SDK reads
 * either whole into memory, so without it a server's answer could take all of org's.
 */
export function boundedFetch(maxBytes: number): FetchLike {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (response.body === null || NULL_BODY.has(response.status)) return response;
    const events = (response.headers.get("content-type") ?? "").toLowerCase().includes("text/event-stream");
    return new Response(response.body.pipeThrough(byteBound(maxBytes, events)), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function byteBound(maxBytes: number, events: boolean): TransformStream<Uint8Array, Uint8Array> {
  let run = 0;
  let previous = 0;
  let beforePrevious = 0;
  const tooLarge = () => new Error(`the MCP server sent a message over ${maxBytes / (1024 * 1024)} MiB; org reads no more of it`);
  return new TransformStream({
    transform(chunk, controller) {
      if (!events) {
        run += chunk.byteLength;
      } else {
        for (const byte of chunk) {
          run += 1;
          // An event ends at a blank line: "\n\n", "\r\n\r\n" or "\r\r".
          if ((byte === LF && (previous === LF || (previous === CR && beforePrevious === LF))) || (byte === CR && previous === CR)) run = 0;
          beforePrevious = previous;
          previous = byte;
          if (run > maxBytes) break;
        }
      }
      if (run > maxBytes) controller.error(tooLarge());
      else controller.enqueue(chunk);
    },
  });
}
