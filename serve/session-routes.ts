import { existsSync } from "node:fs";
import { z } from "zod";
import type { OrgConfig } from "../config/org-config.ts";
import { describeSession, listSessions, SessionNotFoundError, transcriptPath } from "../room/transcript.ts";
import { readScreenshot } from "../room/session-files.ts";
import { readTranscriptPage, TranscriptCursorError } from "../room/transcript-page.ts";
import { SessionId } from "./api-schemas.ts";
import { HttpError } from "./http-error.ts";
import { switchMode, turnObserver } from "./messages-route.ts";
import { readJsonBody } from "./read-json-body.ts";
import { resumeAfter, roomStreamSse } from "./room-stream-sse.ts";
import { sessionTranscript, TRANSCRIPT_BYTES, TRANSCRIPT_MESSAGES } from "./session-transcript.ts";
import { type Route, route } from "./router.ts";
import type { ServeMetrics } from "./serve-metrics.ts";
import type { ServedTools } from "./served-tools.ts";
import {
  type ApprovalAnswered,
  type SessionList,
  type SessionMessageAccepted,
  type SessionTranscriptPage,
  type StopAnswer,
  sessionApiSchemas,
} from "./session-api.ts";
import type { SessionPool } from "./session-pool.ts";

/** Sessions `GET /v1/sessions` lists unless `?limit=` says otherwise, and at most. */
const LIST_DEFAULT = 100;
const LIST_MAX = 1_000;

/** Messages a transcript page holds at most (`?limit=`). */
const PAGE_MESSAGES_MAX = 1_000;

/** `POST /v1/sessions/:id/stop` takes an empty JSON object: a JSON body is what a page on another site cannot send unasked. */
const StopRequest = z.strictObject({});

export type SessionRoutesOptions = {
  config: OrgConfig;
  sessions: SessionPool;
  /** Where the transcripts are (`.org/sessions/` of the workspace): the same files `org chat` writes and resumes. */
  sessionsDir: string;
  /** The workspace: a session's folder (its scratch, where the browser saves screenshots) is below it. */
  workspaceDir: string;
  tools: ServedTools;
  metrics: ServeMetrics;
  logError: (line: string) => void;
};

/** A session id from the path, or a 404 that says what one looks like. */
function sessionIdOf(given: string): string {
  if (!SessionId.safeParse(given).success)
    throw new HttpError(404, `there is no session ${JSON.stringify(given.slice(0, 80))}; GET /v1/sessions lists them.`);
  return given;
}

/** Runs `open` (which opens or resumes a session), turning an unknown session into a 404. */
async function known<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof SessionNotFoundError) throw new HttpError(404, `${error.message} GET /v1/sessions lists them.`);
    throw error;
  }
}

/** A page's size from `?limit=` (messages), and the cursor `?before=` names, when given. */
function pageRequest(request: Request): { messages: number; maxBytes: number; before?: number } {
  const query = new URL(request.url).searchParams;
  const given = query.get("limit");
  const messages = given === null ? TRANSCRIPT_MESSAGES : Number(given);
  if (!Number.isInteger(messages) || messages < 1 || messages > PAGE_MESSAGES_MAX)
    throw new HttpError(400, `?limit= must be a whole number of messages from 1 to ${PAGE_MESSAGES_MAX}.`);
  const before = query.get("before");
  if (before !== null && !/^\d{1,15}$/.test(before))
    throw new HttpError(400, `?before= must be the cursor a page of this session gave (its "before"), not ${JSON.stringify(before.slice(0, 40))}.`);
  return { messages, maxBytes: TRANSCRIPT_BYTES, ...(before !== null ? { before: Number(before) } : {}) };
}

/** A transcript page, a cursor that fits no page being a 400 that says to open the session again. */
function page(path: string, request: ReturnType<typeof pageRequest>): ReturnType<typeof readTranscriptPage> {
  try {
    return readTranscriptPage(path, request);
  } catch (error) {
    if (error instanceof TranscriptCursorError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** `GET /v1/sessions/:id/transcript?before=`: the turns before a cursor, read from the file (the room need not be open). */
function transcriptPageOf(options: SessionRoutesOptions, session: string, request: Request): SessionTranscriptPage {
  const path = transcriptPath(options.sessionsDir, session);
  if (!existsSync(path)) throw new HttpError(404, `there is no session ${session}; GET /v1/sessions lists them.`);
  const asked = pageRequest(request);
  if (asked.before === undefined) throw new HttpError(400, '?before= is needed: the cursor GET /v1/sessions/:id gave (its "before").');
  const { lines, damagedLines, before } = page(path, asked);
  return { session, lines, damagedLines, before: before === null ? null : String(before) };
}

/**
 * `GET /v1/sessions/:id/screenshot?path=P`: a screenshot the browser saved in the session's folder, as PNG. Only a PNG
 * (read and sniffed by `readScreenshot`) inside that folder; anything else is a 404 that says why.
 */
function screenshotOf(options: SessionRoutesOptions, session: string, request: Request): Response {
  const path = new URL(request.url).searchParams.get("path") ?? "";
  const read = readScreenshot(options.workspaceDir, session, path);
  if (!(read instanceof Uint8Array)) throw new HttpError(404, `${read.refused}; a browser result's data.screenshot names one.`);
  return new Response(read, { headers: { "content-type": "image/png", "cache-control": "private, no-store" } });
}

/** `GET /v1/sessions`: the workspace's sessions, newest first, `?limit=` of them. */
function sessionList(options: SessionRoutesOptions, request: Request): SessionList {
  const given = new URL(request.url).searchParams.get("limit");
  const limit = given === null ? LIST_DEFAULT : Number(given);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX) throw new HttpError(400, `?limit= must be a whole number from 1 to ${LIST_MAX}.`);
  const ids = listSessions(options.sessionsDir).reverse().slice(0, limit);
  return {
    sessions: ids.flatMap((id) => {
      const described = describeSession(options.sessionsDir, id);
      if (!described) return [];
      return [{ ...described, open: options.sessions.isOpen(id), running: options.sessions.openRoom(id)?.running ?? false }];
    }),
  };
}

/** `POST /v1/sessions/:id/messages`: the turn starts under a lease of the session and runs on after the answer, which names it. */
async function startTurn(options: SessionRoutesOptions, request: Request, session: string, requestId: string): Promise<Response> {
  const body = await readJsonBody(request, sessionApiSchemas().SessionMessageRequest, options.config.serve.maxBodyBytes);
  const id = body.request_id ?? requestId;
  const lease = await known(() => options.sessions.lease(session, id, request.signal, { busy: "refuse" }));
  switchMode(lease, body.mode);
  const { metrics } = options;
  lease.listen(turnObserver(metrics, new Set(options.tools.all().map((entry) => entry.tool.name))));
  metrics.turnsInProgress(1);
  const started = performance.now();
  let turnId: string | undefined;
  // The turn runs on after the answer, under the room's own signals (stop, close), not the request's.
  void lease.room
    .send(body.text, { started: (given) => (turnId = given) })
    .catch((error: unknown) => {
      options.logError(`serve: turn of session ${lease.sessionId} (request ${id}) failed: ${error instanceof Error ? error.stack : String(error)}`);
    })
    .finally(() => {
      metrics.turnsInProgress(-1);
      metrics.turnSeconds.observe({}, (performance.now() - started) / 1000);
      lease.release();
    });
  if (turnId === undefined) throw new HttpError(503, `session ${lease.sessionId} is closing; send the message again.`);
  const accepted: SessionMessageAccepted = { session: lease.sessionId, turnId };
  return Response.json(accepted, { status: 202, headers: { "x-request-id": id } });
}

/** `POST /v1/sessions/:id/approvals/:approvalId`: the first answer decides; a later one is 409, an unknown question 404. */
async function answerApproval(options: SessionRoutesOptions, request: Request, session: string, approvalId: string): Promise<Response> {
  const body = await readJsonBody(request, sessionApiSchemas().ApprovalAnswerRequest, options.config.serve.maxBodyBytes);
  const room = options.sessions.openRoom(session);
  if (!room)
    throw new HttpError(
      404,
      `session ${session} is not open in this server, so no approval question of it waits; GET /v1/sessions/${session} shows it.`,
    );
  const result = room.answerApproval(approvalId, body.answer, body.by ?? "http");
  if (!result.ok) throw new HttpError(result.status === "answered" ? 409 : 404, result.message);
  const answered: ApprovalAnswered = { approvalId: result.approvalId, answer: result.answer, by: result.by };
  return Response.json(answered);
}

/**
 * The session routes a browser or a phone needs (serve/README.md, "Sessions"): list the sessions, open one (its
 * transcript and where its stream stands), follow its room-wide stream (resumable with `Last-Event-ID`), send a message
 * that starts a turn without holding a stream open, answer an approval question, stop the running replies.
 */
export function sessionRoutes(options: SessionRoutesOptions): Route[] {
  const { sessions } = options;
  const maxBody = options.config.serve.maxBodyBytes;
  return [
    route("GET", "/v1/sessions", ({ request }) => Response.json(sessionList(options, request))),
    route("POST", "/v1/sessions", async ({ request, requestId }) => {
      const body = await readJsonBody(request, sessionApiSchemas().NewSessionRequest, maxBody);
      const lease = await sessions.lease(undefined, requestId, request.signal);
      switchMode(lease, body.mode);
      lease.release();
      return Response.json({ session: lease.sessionId }, { status: 201, headers: { location: `/v1/sessions/${lease.sessionId}` } });
    }),
    route("GET", "/v1/sessions/:id", async ({ params, request }) => {
      const asked = pageRequest(request);
      return Response.json(await known(() => sessionTranscript(sessions, sessionIdOf(params.id), asked)));
    }),
    route("GET", "/v1/sessions/:id/transcript", ({ params, request }) => Response.json(transcriptPageOf(options, sessionIdOf(params.id), request))),
    route(
      "GET",
      "/v1/sessions/:id/events",
      async ({ request, params }) => {
        const after = resumeAfter(request);
        const watch = await known(() => sessions.watch(sessionIdOf(params.id), { maxStreams: options.config.serve.streamsPerSession }));
        const body = roomStreamSse({ stream: watch.stream, after, signal: request.signal, release: watch.release });
        return new Response(body, {
          headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-org-session": watch.sessionId },
        });
      },
      { stream: true },
    ),
    route("GET", "/v1/sessions/:id/screenshot", ({ params, request }) => screenshotOf(options, sessionIdOf(params.id), request)),
    route("POST", "/v1/sessions/:id/messages", ({ request, params, requestId }) => startTurn(options, request, sessionIdOf(params.id), requestId)),
    route("POST", "/v1/sessions/:id/approvals/:approvalId", ({ request, params }) =>
      answerApproval(options, request, sessionIdOf(params.id), params.approvalId),
    ),
    route("POST", "/v1/sessions/:id/stop", async ({ request, params }) => {
      await readJsonBody(request, StopRequest, maxBody);
      const session = sessionIdOf(params.id);
      const stopped = sessions.openRoom(session)?.stop("the replies were stopped over HTTP") ?? 0;
      const answer: StopAnswer = { session, stopped };
      return Response.json(answer);
    }),
  ];
}
