import { ROOM_STATE_ELEMENT } from "../../room-state-element.ts";

/** What the room's stream said before the room took it over, in order. */
type Heard = { kind: "open" } | { kind: "error" } | { kind: "message"; data: string };

/** How the room hears the stream: each `message` is a frame's JSON, not yet checked. */
export type StreamListener = { open(): void; error(): void; message(data: string): void };

/**
 * The session the page came with: its state as the server read it with the page (`GET /v1/sessions/:id`'s answer, not
 * yet checked: the room checks it with its schema), and its stream from the last event that state holds, opened at
 * once. `listen` hands the stream over, with what it said meanwhile; `close` ends it.
 */
export type OpeningRoom = { session: string; state: unknown; source: EventSource; listen(listener: StreamListener): void; close(): void };

/** The session id and stream number of the page's state, as far as the stream's address needs them; undefined when not there. */
function streamStart(state: unknown): { session: string; seq: number } | undefined {
  if (typeof state !== "object" || state === null || !("session" in state) || !("seq" in state)) return undefined;
  const { session, seq } = state;
  if (typeof session !== "string" || !/^[A-Za-z0-9][\w.-]{0,127}$/.test(session)) return undefined;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  return { session, seq };
}

/**
 * Opens the stream of the session the page came with, before the rest of the page's code runs (this module needs
 * nothing else, so it runs first): the server answers it while the page gets ready. Undefined when the page holds no
 * state (a new workspace, a session the server could not open): the room then reads it from the server.
 */
export function openOpeningRoom(): OpeningRoom | undefined {
  let state: unknown;
  try {
    state = JSON.parse(document.getElementById(ROOM_STATE_ELEMENT)?.textContent ?? "null");
  } catch {
    return undefined;
  }
  const start = streamStart(state);
  if (start === undefined) return undefined;
  const source = new EventSource(`/v1/sessions/${encodeURIComponent(start.session)}/events?after=${start.seq}`);
  const heard: Heard[] = [];
  source.onopen = () => heard.push({ kind: "open" });
  source.onerror = () => heard.push({ kind: "error" });
  source.onmessage = (message) => heard.push({ kind: "message", data: String(message.data) });
  return {
    session: start.session,
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
