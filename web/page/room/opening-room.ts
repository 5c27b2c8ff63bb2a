import { STREAM_TICKET_PARAM } from "../../../serve/page-key-names.ts";
import { fetchJson, withTicket } from "../page-key.ts";

/** What the room's stream said before the room took it over, in order. */
type Heard = { kind: "open" } | { kind: "error" } | { kind: "message"; data: string };

/** How the room hears the stream: each `message` is a frame's JSON, not yet checked. */
export type StreamListener = { open(): void; error(): void; message(data: string): void };

/**
 * The session the page opens with: its state as `GET /v1/sessions/:id` answered (not yet checked: the room checks it
 * with its schema), and its stream from the last event that state holds, opened at once. `listen` hands the stream
 * over, with what it said meanwhile; `close` ends it.
 */
export type OpeningRoom = { session: string; state: unknown; source: EventSource; listen(listener: StreamListener): void; close(): void };

/** The session the page shows (`?session=`, else the newest; none in a new workspace) and, when it could be read, its room. */
export type Opening = { session: string | undefined; room: OpeningRoom | undefined };

const SESSION_ID = /^[A-Za-z0-9][\w.-]{0,127}$/;

/** The session id and stream number of a state, as far as the stream's address needs them; undefined when not there. */
function streamStart(state: unknown): { session: string; seq: number } | undefined {
  if (typeof state !== "object" || state === null || !("session" in state) || !("seq" in state)) return undefined;
  const { session, seq } = state;
  if (typeof session !== "string" || !SESSION_ID.test(session)) return undefined;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  return { session, seq };
}

/** The room of the page's opening read: its stream opened from the state's last event; undefined without a state to open it from. */
function openRoom(session: string, state: unknown, ticket: string): OpeningRoom | undefined {
  const start = streamStart(state);
  if (start === undefined || start.session !== session) return undefined;
  const param = ticket === "" ? "" : `${STREAM_TICKET_PARAM}=${encodeURIComponent(ticket)}`;
  const source = new EventSource(withTicket(`/v1/sessions/${encodeURIComponent(session)}/events?after=${start.seq}`, param));
  const heard: Heard[] = [];
  source.onopen = () => heard.push({ kind: "open" });
  source.onerror = () => heard.push({ kind: "error" });
  source.onmessage = (message) => heard.push({ kind: "message", data: String(message.data) });
  return {
    session,
    state,
    source,
    listen(listener) {
      source.onopen = () => listener.open();
      source.onerror = () => listener.error();
      source.onmessage = (message) => listener.message(String(message.data));
      for (const what of heard.splice(0)) {
        if (what.kind === "message") listener.message(what.data);
        else listener[what.kind]();
      }
    },
    close: () => source.close(),
  };
}

/** A field of an answer not yet checked, when it is a string. */
function stringField(answer: unknown, name: string): string | undefined {
  if (typeof answer !== "object" || answer === null || !(name in answer)) return undefined;
  const value: unknown = Object.getOwnPropertyDescriptor(answer, name)?.value;
  return typeof value === "string" ? value : undefined;
}

/**
 * Reads the session the page shows, its newest turns and a ticket for its stream in one request (`GET
 * /v1/web/opening`), and opens the stream, before the rest of the page's code runs (this module needs nothing else,
 * so it runs first): the server answers while the page gets ready. A room that cannot be read now is left to the room
 * view, which reads it again and says why.
 */
export async function openOpeningRoom(): Promise<Opening> {
  const asked = new URLSearchParams(location.search).get("session");
  let answer: unknown;
  try {
    answer = await fetchJson(`/v1/web/opening${asked === null ? "" : `?session=${encodeURIComponent(asked)}`}`);
  } catch {
    // Refused (no key: the room's reads say why) or unreachable: the room reads it itself.
    return { session: asked ?? undefined, room: undefined };
  }
  const session = stringField(answer, "session");
  const state: unknown = typeof answer === "object" && answer !== null && "state" in answer ? answer.state : null;
  if (session === undefined || !SESSION_ID.test(session)) return { session: undefined, room: undefined };
  return { session, room: openRoom(session, state, stringField(answer, "ticket") ?? "") };
}
