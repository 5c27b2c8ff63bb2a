import { z } from "zod";
import { RoomModeError } from "../room/room-mode.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { formatRoomMode } from "../room/room-mode.ts";
import { RequestId } from "./api-schemas.ts";
import { HttpError } from "./http-error.ts";
import type { JobsQueue, RunJob } from "./jobs-queue.ts";
import { readJsonBody } from "./read-json-body.ts";
import { type Route, route } from "./router.ts";
import type { SessionPool } from "./session-pool.ts";

/** `POST /v1/jobs`: one user message, run later by a worker in a session of its own. */
export const JobRequest = z.strictObject({
  text: z.string().min(1, "must not be empty").max(100_000),
  mode: z.string().min(1).max(300).optional(),
  request_id: RequestId.optional(),
});

const JOB_ID = /^job-[a-z0-9-]{8,64}$/;

/** A job's turn in a new session of the pool, as `POST /v1/messages` runs one (same room, tools and limits). */
export function sessionJobRunner(sessions: SessionPool): RunJob {
  return async (job, onEvent, signal) => {
    let lease: Awaited<ReturnType<SessionPool["lease"]>>;
    for (;;) {
      try {
        lease = await sessions.lease(undefined, job.requestId ?? job.id, signal);
        break;
      } catch (error) {
        // Too many requests waiting for a turn: a job is not refused, it waits its turn.
        if (!(error instanceof HttpError && error.status === 429)) throw error;
        await Bun.sleep(1_000);
        if (signal.aborted) throw signal.reason;
      }
    }
    try {
      lease.listen(onEvent);
      if (job.mode !== undefined && job.mode !== formatRoomMode(lease.room.mode)) {
        try {
          lease.room.setMode(job.mode);
        } catch (error) {
          if (!(error instanceof RoomModeError)) throw error;
          onEvent({ type: "error", message: `mode: ${error.message}`, kind: "mode" });
          return { ok: false, sessionId: lease.sessionId };
        }
      }
      const summary = await lease.room.send(job.text, { signal });
      return { ok: summary.ok, sessionId: lease.sessionId };
    } finally {
      lease.release();
    }
  };
}

function lastEventIdOf(request: Request): number {
  const given = request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("last_event_id") ?? "";
  return /^\d{1,9}$/.test(given) ? Number(given) : -1;
}

function known(jobs: JobsQueue, id: string): void {
  if (!JOB_ID.test(id) || jobs.get(id) === undefined)
    throw new HttpError(404, `there is no job ${JSON.stringify(id.slice(0, 80))}; POST /v1/jobs answers with the id of the job it accepted.`);
}

/** The HTTP side of the jobs: POST, GET and the event stream. */
export function jobsRoutes(jobs: JobsQueue, options: { maxBodyBytes: number; secrets: readonly string[] }): Route[] {
  return [
    route("POST", "/v1/jobs", async ({ request }) => {
      const body = await readJsonBody(request, JobRequest, options.maxBodyBytes);
      // The inbound credential guard's scan, as for /v1/messages and /v1/chat/completions: the log on disk, and
      // the room after it, keep only the redacted text, so a pasted key is neither stored nor sent.
      const text = scanForSecrets(body.text, options.secrets).redacted;
      const { status, id, state } = jobs.post({ ...body, text });
      return Response.json({ id, state, ...(text !== body.text ? { redacted: true } : {}) }, { status, headers: { location: `/v1/jobs/${id}` } });
    }),
    route("GET", "/v1/jobs/:id", ({ params }) => {
      known(jobs, params.id);
      return Response.json(jobs.get(params.id));
    }),
    route("GET", "/v1/jobs/:id/events", ({ request, params }) => {
      known(jobs, params.id);
      const stream = jobs.stream(params.id, lastEventIdOf(request), request.signal);
      return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
    }),
  ];
}
