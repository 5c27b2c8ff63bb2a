import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { personaInfoSchema } from "../room/persona-info.ts";
import { roomEventSchemas } from "../room/room-event.ts";
import { transcriptLineSchema } from "../room/transcript-line.ts";
import { RequestId } from "./api-schemas.ts";

// The JSON of serve's session routes (`/v1/sessions…`), declared once for the server and for a browser: this module
// and what it imports need nothing but zod.

/** A new session, a message, an approval's answer and a stop: the bodies and the answers. */
function turnSchemas() {
  const { ApprovalChoice } = roomEventSchemas();
  /** `POST /v1/sessions`: a new session, optionally in a mode. */
  const NewSessionRequest = z.strictObject({ mode: z.string().min(1).max(300).optional() });

  /** `POST /v1/sessions/:id/messages`: one user message; the turn runs on after the answer. */
  const SessionMessageRequest = z.strictObject({
    text: z.string().min(1, "must not be empty").max(100_000),
    /** group, direct:<persona> or file:<path>; kept for the session's later messages. */
    mode: z.string().min(1).max(300).optional(),
    request_id: RequestId.optional(),
  });

  /** `202` to a message: the turn started; its events come on the session's stream, from `turn-start` with this `turnId`. */
  const SessionMessageAccepted = z.object({ session: z.string(), turnId: z.string() });

  /** `POST /v1/sessions/:id/approvals/:approvalId`: the answer, and who gives it (shown in `approval-answered`; default `http`). */
  const ApprovalAnswerRequest = z.strictObject({
    answer: ApprovalChoice,
    by: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, "a short lowercase label: web, phone, telegram")
      .optional(),
  });

  /** `200` to an answer that was the first. */
  const ApprovalAnswered = z.object({ approvalId: z.string(), answer: ApprovalChoice, by: z.string() });

  /** `POST /v1/sessions/:id/stop`: how many running turns were stopped. */
  const StopAnswer = z.object({ session: z.string(), stopped: z.number().int() });
  /** `POST /v1/stream-tickets`: what opens an event stream (`?ticket=`) for a while, beside the web room's cookie. */
  const StreamTicket = z.object({ ticket: z.string(), expiresInMs: z.number().int() });
  return { NewSessionRequest, SessionMessageRequest, SessionMessageAccepted, ApprovalAnswerRequest, ApprovalAnswered, StopAnswer, StreamTicket };
}

/** What reading sessions answers: the list, and a transcript's newest lines or a page before them. */
function readingSchemas() {
  const { ApprovalAsked } = roomEventSchemas();
  const TranscriptLine = transcriptLineSchema();
  const PersonaInfo = personaInfoSchema();

  /** One session as `GET /v1/sessions` lists it. */
  const SessionSummary = z.object({
    id: z.string(),
    /** The first user message, cut to 120 characters; empty before the first. */
    title: z.string(),
    /** When the transcript was last written (ISO 8601). */
    updated: z.string(),
    bytes: z.number().int(),
    /** Whether the session's room is open in this server now. */
    open: z.boolean(),
    /** Whether a turn runs in it now. */
    running: z.boolean(),
  });

  /** `GET /v1/sessions`: newest first. */
  const SessionList = z.object({ sessions: z.array(SessionSummary) });

  /**
   * `GET /v1/sessions/:id`: where the session's stream stands and the newest of its transcript. `lines` hold every event
   * up to `seq` (streamed text gathered) from the start of a turn: enough whole turns for `?limit=` messages (default 100),
   * so a page shows them, then follows `GET /v1/sessions/:id/events?after=<seq>`. `before` reads the turns before them.
   */
  const SessionTranscript = z.object({
    session: z.string(),
    seq: z.number().int(),
    mode: z.string(),
    personas: z.array(PersonaInfo),
    running: z.boolean(),
    pendingApprovals: z.array(ApprovalAsked),
    lines: z.array(TranscriptLine),
    /** Lines of these that could not be read (a crash mid-write leaves at most the file's last one). */
    damagedLines: z.number().int(),
    /** The cursor of the lines before these (`GET /v1/sessions/:id/transcript?before=`); null when these begin the session. */
    before: z.string().nullable(),
  });

  /** `GET /v1/sessions/:id/transcript?before=CURSOR`: the whole turns before a cursor, and the cursor of those before them. */
  const SessionTranscriptPage = z.object({
    session: z.string(),
    lines: z.array(TranscriptLine),
    damagedLines: z.number().int(),
    before: z.string().nullable(),
  });
  return { SessionSummary, SessionList, SessionTranscript, SessionTranscriptPage };
}

/** The session routes' schemas, made on first use: serve starts without them, its first session route builds them. */
export const sessionApiSchemas = onFirstUse(() => ({ ...turnSchemas(), ...readingSchemas() }));
type Schemas = ReturnType<typeof sessionApiSchemas>;
export type NewSessionRequest = z.infer<Schemas["NewSessionRequest"]>;
export type SessionMessageRequest = z.infer<Schemas["SessionMessageRequest"]>;
export type SessionMessageAccepted = z.infer<Schemas["SessionMessageAccepted"]>;
export type ApprovalAnswerRequest = z.infer<Schemas["ApprovalAnswerRequest"]>;
export type ApprovalAnswered = z.infer<Schemas["ApprovalAnswered"]>;
export type StopAnswer = z.infer<Schemas["StopAnswer"]>;
export type StreamTicket = z.infer<Schemas["StreamTicket"]>;
export type SessionSummary = z.infer<Schemas["SessionSummary"]>;
export type SessionList = z.infer<Schemas["SessionList"]>;
export type SessionTranscript = z.infer<Schemas["SessionTranscript"]>;
export type SessionTranscriptPage = z.infer<Schemas["SessionTranscriptPage"]>;
