import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { RoomEvent } from "../../../room/room-event.ts";
import { roomStreamFrameSchemas } from "../../../room/room-stream-frame.ts";
import { type SessionTranscript, sessionApiSchemas } from "../../../serve/session-api.ts";
import { foldTranscriptLines, prependOlder } from "../../room-pages.ts";
import { applyRoomEvent, emptyRoomState, type RoomState } from "../../room-state.ts";
import { ROOM_FIRST_MESSAGES, ROOM_OLDER_MESSAGES } from "../../room-read-sizes.ts";
import { getJson, postJson } from "../api.ts";
import { ApiError, fetchJson, streamAddress } from "../page-key.ts";
import type { OpeningRoom, StreamListener } from "./opening-room.ts";

/** Where the page's view of a session stands; "logged-out": the server no longer takes this browser's login (it restarted). */
export type Connection = "loading" | "live" | "reconnecting" | "failed" | "logged-out";

/**
 * Why the stream closed for good: the browser's EventSource says no status, so a cheap route is asked; a 401 there
 * means the server no longer takes this login (`org web` restarted with a new token).
 */
async function closedConnection(): Promise<Connection> {
  try {
    await fetchJson("/v1/sessions?limit=1");
    return "failed";
  } catch (error) {
    return failedRead(error);
  }
}

/** A read that failed: logged out when the server said 401, else failed. */
const failedRead = (error: unknown): Connection => (error instanceof ApiError && error.status === 401 ? "logged-out" : "failed");

/** Where the transcript's older turns stand: a cursor to read them with, being read, or none left. */
export type Older = { cursor: string | null; loading: boolean };

/**
 * The least time between two draws of the room while events stream in: each draw lays out the growing replies again,
 * so drawing at most every 40 ms rather than every frame (16 ms) costs well under half the work (profiled: four lanes
 * at 50 tokens/s) and keeps the page within 100 ms of the stream.
 */
const DRAW_EVERY_MS = 40;

const sessionPath = (session: string) => `/v1/sessions/${encodeURIComponent(session)}`;

/**
 * A session's state as read; `earlier` are the lines of the page's state before those folded in it, not yet checked:
 * the room checks them and puts them before the rest once its first frame is drawn.
 */
type Loaded = { state: RoomState; seq: number; before: string | null; earlier?: unknown[] };

/** How many of the newest lines of the page's state (about a dozen turns, more than a window shows) are checked and drawn first. */
const FIRST_LINES = 80;

const isTurnStart = (line: unknown) => typeof line === "object" && line !== null && "type" in line && line.type === "turn-start";

/**
 * The page's state (not yet checked) cut where the turn holding its FIRST_LINES-th newest line begins: the newest
 * part is checked and drawn first, the lines before it wait for the first frame (as an older page would).
 */
function cutPageState(state: unknown): { newest: unknown; earlier: unknown[] } {
  if (typeof state !== "object" || state === null || !("lines" in state) || !Array.isArray(state.lines)) return { newest: state, earlier: [] };
  const lines: unknown[] = state.lines;
  let cut = Math.max(0, lines.length - FIRST_LINES);
  while (cut > 0 && !isTurnStart(lines[cut])) cut -= 1;
  return { newest: { ...state, lines: lines.slice(cut) }, earlier: lines.slice(0, cut) };
}

/** `GET /v1/sessions/:id`'s answer folded into a new state; `seq` is the last event it holds, `before` the older turns' cursor. */
function loadedOf(transcript: SessionTranscript): Loaded {
  const state = foldTranscriptLines(
    transcript.lines,
    transcript.personas.map((persona) => persona.name),
    transcript.mode,
  );
  for (const approval of transcript.pendingApprovals) if (!state.approvals.has(approval.approvalId)) applyRoomEvent(state, approval);
  state.windows = Object.fromEntries(transcript.personas.flatMap((persona) => (persona.window ? [[persona.name, persona.window]] : [])));
  return { state, seq: transcript.seq, before: transcript.before };
}

/** The newest turns of the transcript, read from the server. */
async function loadTranscript(session: string): Promise<Loaded> {
  return loadedOf(await getJson(`${sessionPath(session)}?limit=${ROOM_FIRST_MESSAGES}`, sessionApiSchemas().SessionTranscript));
}

/** What a followed session tells the room's view. */
type FollowEvents = {
  loaded(loaded: Loaded): void;
  event(event: RoomEvent): void;
  connection(connection: Connection): void;
  problem(problem: string): void;
};

/**
 * A session followed: its state as the server gave it with the page (`opening`), if it did and it is what the schema
 * says, and how to hear the rest (what was told before `attach` is told then) or stop.
 */
export type Following = { session: string; opening: Loaded | undefined; closed: boolean; attach(on: FollowEvents): void; stop(): void };

/**
 * Follows a session: its newest turns (the page's own, or read from the server), then the room's one stream from the
 * last event they hold (`?after=`; the page's opened before its code ran); the browser's EventSource reconnects by
 * itself with `Last-Event-ID`, so a lost connection loses nothing, and a `reset` frame (the server no longer holds
 * what was missed) loads the turns again.
 */
export function followSession(session: string, page?: OpeningRoom): Following {
  const cut = page?.session === session ? cutPageState(page.state) : undefined;
  const given = cut ? sessionApiSchemas().SessionTranscript.safeParse(cut.newest) : undefined;
  if (page && !given?.success) page.close();
  let source: EventSource | undefined;
  let seq = 0;
  const { tell, attach } = heldUntilAttached();
  const failed = (error: unknown) =>
    tell((on) => {
      on.connection(failedRead(error));
      on.problem(error instanceof Error ? error.message : String(error));
    });
  const following: Following = {
    session,
    opening: given?.success ? { ...loadedOf(given.data), earlier: cut?.earlier ?? [] } : undefined,
    closed: false,
    attach,
    stop() {
      following.closed = true;
      page?.close();
      source?.close();
    },
  };
  // Whether the stream was live since it was last opened: a stream the server ended for good (its ticket too old by the
  // time the browser reconnected) is opened again with a new ticket once, and one refused again is "failed".
  let liveSinceOpened = false;
  const listener: StreamListener = {
    open: () => {
      liveSinceOpened = true;
      tell((on) => on.connection("live"));
    },
    error: () => {
      if (source?.readyState !== EventSource.CLOSED) return tell((on) => on.connection("reconnecting"));
      if (!liveSinceOpened || following.closed) {
        void closedConnection().then((connection) => tell((on) => on.connection(connection)));
        return;
      }
      liveSinceOpened = false;
      tell((on) => on.connection("reconnecting"));
      open().catch(failed);
    },
    message: (data) => {
      const parsed = roomStreamFrameSchemas().RoomStreamFrame.safeParse(JSON.parse(data));
      if (!parsed.success) return;
      const frame = parsed.data;
      if (frame.kind === "reset") reload().catch((error: unknown) => tell((on) => on.problem(String(error))));
      else if (frame.seq > seq) {
        seq = frame.seq;
        const { event } = frame;
        tell((on) => on.event(event));
      }
    },
  };
  const open = async () => {
    const address = await streamAddress(`${sessionPath(session)}/events?after=${seq}`);
    if (following.closed) return;
    const opened = new EventSource(address);
    source = opened;
    opened.onopen = listener.open;
    opened.onerror = listener.error;
    opened.onmessage = (message) => listener.message(String(message.data));
  };
  const reload = async () => {
    const loaded = await loadTranscript(session);
    if (following.closed) return;
    seq = loaded.seq;
    if (source === undefined) await open();
    tell((on) => on.loaded(loaded));
  };
  tell((on) => on.connection("loading"));
  if (page && following.opening) {
    seq = following.opening.seq;
    source = page.source;
    page.listen(listener);
  } else reload().catch(failed);
  return following;
}

/** What a followed session tells its view, held until the view attaches and then told in order. */
function heldUntilAttached(): { tell(what: (on: FollowEvents) => void): void; attach(events: FollowEvents): void } {
  let on: FollowEvents | undefined;
  const told: ((on: FollowEvents) => void)[] = [];
  return {
    tell: (what) => (on ? what(on) : told.push(what)),
    attach(events) {
      on = events;
      for (const what of told.splice(0)) what(events);
    },
  };
}

/** Calls `draw` at most once a frame and every DRAW_EVERY_MS, however often `redraw` is asked for meanwhile. */
function throttledDraw(draw: () => void): { redraw(): void; cancel(): void } {
  let frame = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let drawn = 0;
  const next = () => {
    frame = requestAnimationFrame(() => {
      frame = 0;
      drawn = performance.now();
      draw();
    });
  };
  return {
    redraw: () => {
      if (frame !== 0 || timer !== undefined) return;
      const wait = drawn + DRAW_EVERY_MS - performance.now();
      if (wait <= 0) next();
      else
        timer = setTimeout(() => {
          timer = undefined;
          next();
        }, wait);
    },
    cancel: () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    },
  };
}

/**
 * The turns before those the room shows: the page's own earlier lines (`Loaded.earlier`, checked, folded and put before
 * the state by `putEarlier`, which the room calls once its first frame is drawn), then the server's older pages, a page
 * at a time as the person scrolls up (`loadOlder`). `reset` starts again from a state read anew.
 */
function useOlderTurns(
  session: string | undefined,
  first: Loaded | undefined,
  current: { current: RoomState },
  redraw: () => void,
  fail: (problem: string) => void,
) {
  const [older, setOlder] = useState<Older>({ cursor: first?.before ?? null, loading: false });
  const earlier = useRef<unknown[]>(first?.earlier ?? []);
  // Read and set at once: two scrolls before the next render must not read the same older page twice.
  const olderRef = useRef(older);
  const setOlderNow = (next: Older) => {
    olderRef.current = next;
    setOlder(next);
  };
  const putEarlier = () => {
    const lines = earlier.current.splice(0);
    if (lines.length === 0) return;
    const checked = sessionApiSchemas().SessionTranscript.shape.lines.safeParse(lines);
    if (checked.success) {
      prependOlder(current.current, foldTranscriptLines(checked.data));
      redraw();
    } else {
      // Not what the schema says: no older page is read either (it would leave a gap).
      setOlderNow({ cursor: null, loading: false });
      fail("the page's earlier turns are not what the session route's schema says, so only the newest are shown");
    }
  };
  const loadOlder = async () => {
    const { cursor, loading } = olderRef.current;
    // The page's own earlier lines come first, once the first frame is drawn.
    if (session === undefined || cursor === null || loading || earlier.current.length > 0) return;
    const reading = current.current;
    setOlderNow({ cursor, loading: true });
    try {
      const query = `before=${encodeURIComponent(cursor)}&limit=${ROOM_OLDER_MESSAGES}`;
      const page = await getJson(`${sessionPath(session)}/transcript?${query}`, sessionApiSchemas().SessionTranscriptPage);
      // A reload meanwhile (another session, a reset) made a new state: this page is not of it.
      if (current.current !== reading) return;
      prependOlder(reading, foldTranscriptLines(page.lines));
      setOlderNow({ cursor: page.before, loading: false });
      redraw();
    } catch (error) {
      setOlderNow({ cursor, loading: false });
      fail(error instanceof Error ? error.message : String(error));
    }
  };
  const reset = (loaded: Loaded) => {
    earlier.current = [];
    setOlderNow({ cursor: loaded.before, loading: false });
  };
  return { older, loadOlder, putEarlier, reset };
}

/**
 * A session's room as the page follows it (`followSession`; `opening` when it is the session the page came with), every
 * event folded into one state, the view drawn at most once a frame and every DRAW_EVERY_MS, whatever number of events
 * came meanwhile. `loadOlder` reads the turns before those shown, a page at a time, as the person scrolls up.
 */
export function useRoom(session: string | undefined, opening?: Following) {
  const first = opening?.session === session ? opening?.opening : undefined;
  const [state, setState] = useState<RoomState>(() => first?.state ?? emptyRoomState());
  const [, setRev] = useState(0);
  const [connection, setConnection] = useState<Connection>("loading");
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const current = useRef(state);
  const older = useOlderTurns(session, first, current, () => setRev((rev) => rev + 1), setProblem);

  // A layout effect: the stream (or the read of the state) starts as the room is first drawn, not a frame later.
  useLayoutEffect(() => {
    if (session === undefined) return;
    const following = opening && !opening.closed && opening.session === session ? opening : followSession(session);
    if (following !== opening) opening?.stop();
    const drawing = throttledDraw(() => setRev((rev) => rev + 1));
    // Once the first frame is drawn: the page's earlier lines checked, folded and put before the rest.
    let later: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      later = setTimeout(older.putEarlier, 0);
    });
    following.attach({
      loaded: (loaded) => {
        older.reset(loaded);
        current.current = loaded.state;
        setState(loaded.state);
      },
      event: (event) => {
        if (applyRoomEvent(current.current, event)) drawing.redraw();
      },
      connection: setConnection,
      problem: setProblem,
    });
    return () => {
      following.stop();
      drawing.cancel();
      cancelAnimationFrame(frame);
      clearTimeout(later);
    };
  }, [session]);

  const path = sessionPath(session ?? "");
  return {
    state,
    connection,
    problem,
    older: older.older,
    loadOlder: older.loadOlder,
    send: (text: string, mode?: string) =>
      postJson(`${path}/messages`, { text, ...(mode ? { mode } : {}) }, sessionApiSchemas().SessionMessageAccepted),
    answer: (approvalId: string, answer: "yes" | "no" | "always") =>
      postJson(`${path}/approvals/${encodeURIComponent(approvalId)}`, { answer, by: "web" }, sessionApiSchemas().ApprovalAnswered),
    stop: () => postJson(`${path}/stop`, {}, sessionApiSchemas().StopAnswer),
  };
}
