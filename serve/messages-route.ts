import type { RoomEvent } from "../room/room-event.ts";
import { RoomModeError } from "../room/room-mode.ts";
import { formatRoomMode } from "../room/room-mode.ts";
import { SessionNotFoundError } from "../room/transcript.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { MessageRequest } from "./api-schemas.ts";
import { HttpError } from "./http-error.ts";
import { readJsonBody } from "./read-json-body.ts";
import { roomEventStream } from "./room-event-stream.ts";
import type { ServeMetrics } from "./serve-metrics.ts";
import type { ServedTools } from "./served-tools.ts";
import { type Route, route } from "./router.ts";
import type { SessionPool } from "./session-pool.ts";

type Lease = Awaited<ReturnType<SessionPool["lease"]>>;

/** Counts a turn's tool runs and tokens; a tool name a model made up counts as "(unknown)", so it cannot add series at will. */
export function turnObserver(metrics: ServeMetrics, offered: ReadonlySet<string>): (event: RoomEvent) => void {
  return (event) => {
    if (event.type === "tool-result")
      metrics.recordToolRun(offered.has(event.call.name) ? event.call.name : "(unknown)", event.ok, event.durationMs / 1000);
    if (event.type === "turn-end") {
      for (const [persona, stats] of Object.entries(event.stats)) {
        metrics.tokens.add({ persona, kind: "prompt" }, stats.promptTokens);
        metrics.tokens.add({ persona, kind: "completion" }, stats.completionTokens);
      }
    }
  };
}

/** A session leased for this request, switched to the mode it asks for; the events said meanwhile are kept. */
async function leaseInMode(
  sessions: SessionPool,
  body: MessageRequest,
  id: string,
  signal: AbortSignal,
): Promise<{ lease: Lease; early: RoomEvent[] }> {
  let lease: Lease;
  try {
    lease = await sessions.lease(body.session, id, signal);
  } catch (error) {
    if (error instanceof SessionNotFoundError) throw new HttpError(404, error.message);
    throw error;
  }
  // Events before the stream starts (a mode change) wait for it.
  const early: RoomEvent[] = [];
  lease.listen((event) => early.push(event));
  switchMode(lease, body.mode);
  return { lease, early };
}

/** Switches the leased session to `mode` when it asks for another; a mode the room refuses is a 400 and gives the lease back. */
export function switchMode(lease: Lease, mode: string | undefined): void {
  if (mode === undefined || mode === formatRoomMode(lease.room.mode)) return;
  try {
    lease.room.setMode(mode);
  } catch (error) {
    lease.release();
    if (error instanceof RoomModeError) throw new HttpError(400, `mode: ${error.message}`);
    throw error;
  }
}

/** `POST /v1/messages`: one turn of a session, its room events streamed as SSE. */
export function messagesRoute(options: {
  config: OrgConfig;
  sessions: SessionPool;
  tools: ServedTools;
  metrics: ServeMetrics;
  logError: (line: string) => void;
}): Route {
  const { metrics } = options;
  return route("POST", "/v1/messages", async ({ request, requestId }) => {
    const body = await readJsonBody(request, MessageRequest, options.config.serve.maxBodyBytes);
    const id = body.request_id ?? requestId;
    const stop = new AbortController();
    const signal = AbortSignal.any([request.signal, stop.signal]);
    const { lease, early } = await leaseInMode(options.sessions, body, id, signal);
    const observe = turnObserver(metrics, new Set(options.tools.all().map((entry) => entry.tool.name)));
    const stream = roomEventStream({
      signal,
      cancel: (reason) => stop.abort(reason),
      run: async (send) => {
        for (const event of early) send(event);
        lease.listen((event) => {
          observe(event);
          send(event);
        });
        metrics.turnsInProgress(1);
        const started = performance.now();
        try {
          await lease.room.send(body.text, { signal });
        } finally {
          metrics.turnsInProgress(-1);
          metrics.turnSeconds.observe({}, (performance.now() - started) / 1000);
          lease.release();
        }
      },
      onError: (error) =>
        options.logError(`serve: turn of session ${lease.sessionId} (request ${id}) failed: ${error instanceof Error ? error.stack : String(error)}`),
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-org-session": lease.sessionId,
        "x-request-id": id,
      },
    });
  });
}
