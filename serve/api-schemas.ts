import { z } from "zod";

/** An id a client chose, echoed in `x-request-id` and the audit log: printable and short. */
export const RequestId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "1–128 letters, digits, '.', '_', ':' or '-'");

/** A session id as serve gives it (`x-org-session`, `GET /v1/sessions`): the transcript's name under `.org/sessions/`. */
export const SessionId = z.string().regex(/^[A-Za-z0-9][\w.-]{0,127}$/, "a session id as the x-org-session header gave it");

/** `POST /v1/messages`: one user message to the room. */
export const MessageRequest = z.strictObject({
  text: z.string().min(1, "must not be empty").max(100_000),
  /** group, direct:<persona> or file:<path>; kept for the session's later messages. */
  mode: z.string().min(1).max(300).optional(),
  /** Go on with this session (its transcript under .org/sessions); without it a new session starts. */
  session: SessionId.optional(),
  request_id: RequestId.optional(),
});
export type MessageRequest = z.infer<typeof MessageRequest>;

/** `POST /v1/tools/:name/run`: the tool's arguments. */
export const ToolRunRequest = z.strictObject({
  inputs: z.record(z.string(), z.unknown()),
  request_id: RequestId.optional(),
});
export type ToolRunRequest = z.infer<typeof ToolRunRequest>;
