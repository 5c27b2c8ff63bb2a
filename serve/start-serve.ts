import { isIP } from "node:net";
import { errorCode } from "../concurrency/error-code.ts";
import type { ServeHandler } from "./serve-handler.ts";

/** `serve` will not start as asked; the message says what to change. */
export class ServeStartError extends Error {
  override name = "ServeStartError";
  readonly userFacing = true;
}

/** Whether an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return /^::ffff:127\./.test(bare);
}

export type RunningServe = { url: string; port: number; stop(force?: boolean): Promise<void> };

// Bun's own cap sits above the handler's (serve.maxBodyBytes), so the handler answers with its JSON 413.
const TRANSPORT_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * Listens with `Bun.serve`, which only wraps the handler. Refuses a non-loopback host when the handler asks
 * no token (docs/ARCHITECTURE.md, invariant 8), before binding anything.
 */
export function startServe(options: { handler: ServeHandler; host: string; port: number }): RunningServe {
  // Asked of the handler itself: the check holds for the token it enforces, not one passed beside it.
  if (!isLoopbackHost(options.host) && !options.handler.authRequired) {
    throw new ServeStartError(
      `refusing to listen on ${options.host} without a token: anyone who reaches it could run the room and its tools. Set ORG_API_TOKEN (clients send 'Authorization: Bearer <token>'), or listen on 127.0.0.1.`,
    );
  }
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      // SSE turns can be quiet for long (a slow model); the stream's keep-alive comes every 15 s.
      idleTimeout: 120,
      maxRequestBodySize: TRANSPORT_BODY_LIMIT,
      fetch: (request) => options.handler.fetch(request),
      error: () => Response.json({ error: { status: 500, code: "internal_error", message: "the server failed on this request." } }, { status: 500 }),
    });
  } catch (error) {
    const code = errorCode(error);
    if (code === "EADDRINUSE" || /in use/i.test(String(error))) {
      throw new ServeStartError(`port ${options.port} on ${options.host} is in use; stop what listens there or pick another with --port.`);
    }
    if (code === "EADDRNOTAVAIL") {
      throw new ServeStartError(
        `cannot listen on ${options.host}: no interface of this machine has that address; use --host 127.0.0.1 or one of its own addresses.`,
      );
    }
    throw error;
  }
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  // A TCP listener always has its port; no unix socket is asked for.
  const port = server.port ?? 0;
  return {
    url: `http://${host}:${port}`,
    port,
    stop: (force = false) => server.stop(force),
  };
}
