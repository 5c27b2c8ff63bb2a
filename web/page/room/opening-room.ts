import { ROOM_FIRST_MESSAGES } from "../../room-read-sizes.ts";
import { fetchJson, streamTicketParam, withTicket } from "../page-key.ts";

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

/** `?session=` in the address, else the workspace's newest session (`GET /v1/sessions?limit=1`), else none. */
async function sessionToOpen(): Promise<string | undefined> {
  const asked = new URLSearchParams(location.search).get("session");
  if (asked !== null) return asked;
  const list = await fetchJson("/v1/sessions?limit=1");
  const sessions = typeof list === "object" && list !== null && "sessions" in list && Array.isArray(list.sessions) ? list.sessions : [];
  const first: unknown = sessions[0];
  const id = typeof first === "object" && first !== null && "id" in first ? first.id : undefined;
  return typeof id === "string" && SESSION_ID.test(id) ? id : undefined;
}

/** The room of `session`: its state read and its stream opened from the state's last event; undefined when it cannot be read. */
async function openRoom(session: string): Promise<OpeningRoom | undefined> {
  const path = `/v1/sessions/${encodeURIComponent(session)}`;
  const [state, ticket] = await Promise.all([fetchJson(`${path}?limit=${ROOM_FIRST_MESSAGES}`), streamTicketParam()]);
  const start = streamStart(state);
  if (start === undefined || start.session !== session) return undefined;
  const source = new EventSource(withTicket(`${path}/events?after=${start.seq}`, ticket));
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

/**
 * Reads the session the page shows and opens its stream, before the rest of the page's code runs (this module needs
 * nothing else, so it runs first): the server answers while the page gets ready. A room that cannot be read now is
 * left to the room view, which reads it again and says why.
 */
export async function openOpeningRoom(): Promise<Opening> {
  const session = await sessionToOpen().catch(() => undefined);
  if (session === undefined) return { session, room: undefined };
  return { session, room: await openRoom(session).catch(() => undefined) };
}
