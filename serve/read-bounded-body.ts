import { HttpError } from "./http-error.ts";

/** Said with a refusal that leaves a body unread or cut: the connection is closed rather than kept for the next request. */
export const CLOSE_CONNECTION = { connection: "close" } as const;

/** The 413 for a body past `maxBytes`, naming the setting that raises it. */
export function bodyTooLarge(maxBytes: number): HttpError {
  const message = `the body is larger than ${maxBytes} bytes; send less (the limit is serve.maxBodyBytes in org.config.json).`;
  return new HttpError(413, message, CLOSE_CONNECTION);
}

/**
 * A request's body, at most `maxBytes` (413 past it, the rest never read; also when Content-Length says more). With
 * `deadline`, a body not whole within `deadline.ms` of the call is cut: the read is cancelled and the answer is 408 with
 * `deadline.message` and `Connection: close`, so a sender that trickles a byte now and then holds nothing for long.
 */
export async function readBoundedBody(request: Request, maxBytes: number, deadline?: { ms: number; message: string }): Promise<Uint8Array> {
  if (Number(request.headers.get("content-length") ?? 0) > maxBytes) throw bodyTooLarge(maxBytes);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let late = false;
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(() => {
          late = true;
          reader.cancel().catch(() => {});
        }, deadline.ms);
  try {
    for (;;) {
      const read = await reader.read().catch((error: unknown) => {
        if (late) return { done: true as const, value: undefined };
        throw error;
      });
      if (late) throw new HttpError(408, deadline?.message ?? "the body did not arrive in time; send it whole.", CLOSE_CONNECTION);
      if (read.done) break;
      size += read.value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw bodyTooLarge(maxBytes);
      }
      chunks.push(read.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
