import { errorCode } from "../concurrency/error-code.ts";
import type { ServeHandler } from "./serve-handler.ts";
import { OrgError } from "../errors/org-error.ts";

/** `serve` will not start as asked; the message says what to change. */
export class ServeStartError extends OrgError {
  override name = "ServeStartError";
}

/**
 * A dotted-quad IPv4 address as node:net's `isIP` reads one: four parts of 0-255, none with a leading zero. Not
 * `isIP` itself: node:net, and node:stream under it, cost every start of serve about 12 ms of CPU to load.
 */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

/** Whether an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  if (IPV4.test(bare)) return bare.startsWith("127.");
  return /^::ffff:127\./.test(bare);
}

export type RunningServe = { url: string; port: number; stop(force?: boolean): Promise<void> };

/** A port held before anything else is started: requests wait until `serve` gives the handler that answers them. */
export type BoundServe = RunningServe & {
  /** Starts answering with `handler`; refuses one that asks no token where the bind said it would (invariant 8). */
  serve(handler: ServeHandler): void;
};

// Bun's own cap sits above the handler's (serve.maxBodyBytes), so the handler answers with its JSON 413.
const TRANSPORT_BODY_LIMIT = 32 * 1024 * 1024;

/** What a request that arrived while the server was starting gets when it stops instead. */
const NOT_STARTED = () =>
  Response.json({ error: { status: 503, code: "not_started", message: "org serve stopped before it was ready; start it again." } }, { status: 503 });

function refuseOpenHost(host: string): ServeStartError {
  return new ServeStartError(
    `refusing to listen on ${host} without a token: anyone who reaches it could run the room and its tools. ` +
      `Set ORG_API_TOKEN (clients send 'Authorization: Bearer <token>'), or listen on 127.0.0.1.`,
  );
}

/**
 * Holds the port first, before the room, its MCP servers or anything else is started, so that a port in use is said
 * (ServeStartError) with nothing to stop. Refuses a non-loopback host when no token will be asked (docs/ARCHITECTURE.md,
 * invariant 8), before binding anything. A request that arrives before `serve(handler)` waits for it.
 */
export function bindServe(options: { host: string; port: number; authRequired: boolean }): BoundServe {
  if (!isLoopbackHost(options.host) && !options.authRequired) throw refuseOpenHost(options.host);
  const { promise: ready, resolve } = Promise.withResolvers<Pick<ServeHandler, "fetch">>();
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      // SSE turns can be quiet for long (a slow model); the stream's keep-alive comes every 15 s.
      idleTimeout: 120,
      maxRequestBodySize: TRANSPORT_BODY_LIMIT,
      // The peer's address, asked while the request is still the socket's: it bounds what one client holds.
      fetch: async (request, server) => {
        const client = server.requestIP(request)?.address;
        return (await ready).fetch(request, client);
      },
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
    serve(handler) {
      // Asked of the handler itself: the check holds for the token it enforces, not the one the bind was told of.
      if (!isLoopbackHost(options.host) && !handler.authRequired) {
        resolve({ fetch: async () => NOT_STARTED() });
        void server.stop(true);
        throw refuseOpenHost(options.host);
      }
      resolve(handler);
    },
    stop: (force = false) => {
      // Requests still waiting for a handler that never came are answered rather than left hanging.
      resolve({ fetch: async () => NOT_STARTED() });
      return server.stop(force);
    },
  };
}

/** Listens with `Bun.serve`, which only wraps the handler: `bindServe`, then `serve(handler)` at once. */
export function startServe(options: { handler: ServeHandler; host: string; port: number }): RunningServe {
  const bound = bindServe({ host: options.host, port: options.port, authRequired: options.handler.authRequired });
  bound.serve(options.handler);
  return bound;
}
