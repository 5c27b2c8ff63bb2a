import { useEffect, useRef, useState } from "preact/hooks";
import { RoomStreamFrame } from "../../../room/room-stream-frame.ts";
import { ApprovalAnswered, SessionMessageAccepted, SessionTranscript, StopAnswer } from "../../../serve/session-api.ts";
import { applyRoomEvent, emptyRoomState, type RoomState } from "../../room-state.ts";
import { getJson, postJson } from "../api.ts";

/** Where the page's view of a session stands. */
export type Connection = "loading" | "live" | "reconnecting" | "failed";

/** The transcript folded into a new state; `seq` is the last event it holds. */
async function loadTranscript(session: string): Promise<{ state: RoomState; seq: number }> {
  const transcript = await getJson(`/v1/sessions/${encodeURIComponent(session)}`, SessionTranscript);
  const state = emptyRoomState(
    transcript.personas.map((persona) => persona.name),
    transcript.mode,
  );
  for (const line of transcript.lines) {
    if (line.type !== "session-start" && line.type !== "session-resumed") applyRoomEvent(state, line);
  }
  for (const approval of transcript.pendingApprovals) if (!state.approvals.has(approval.approvalId)) applyRoomEvent(state, approval);
  return { state, seq: transcript.seq };
}

/**
 * A session's room as the page follows it: the transcript first, then the room's one stream from the last event the
 * transcript holds (`?after=`); the browser's EventSource reconnects by itself with `Last-Event-ID`, so a lost
 * connection loses nothing, and a `reset` frame (the server no longer holds what was missed) reloads the transcript.
 * Every event is folded into one state; the view is drawn at most once a frame.
 */
export function useRoom(session: string | undefined) {
  const [state, setState] = useState<RoomState>(() => emptyRoomState());
  const [, setRev] = useState(0);
  const [connection, setConnection] = useState<Connection>("loading");
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const current = useRef(state);

  useEffect(() => {
    if (session === undefined) return;
    let closed = false;
    let source: EventSource | undefined;
    let frame = 0;
    let seq = 0;
    const redraw = () => {
      if (frame !== 0) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setRev((rev) => rev + 1);
      });
    };
    const reload = async () => {
      const loaded = await loadTranscript(session);
      if (closed) return;
      seq = loaded.seq;
      current.current = loaded.state;
      setState(loaded.state);
    };
    const open = () => {
      source = new EventSource(`/v1/sessions/${encodeURIComponent(session)}/events?after=${seq}`);
      source.onopen = () => setConnection("live");
      source.onerror = () => setConnection(source?.readyState === EventSource.CLOSED ? "failed" : "reconnecting");
      source.onmessage = (message) => {
        const parsed = RoomStreamFrame.safeParse(JSON.parse(message.data));
        if (!parsed.success) return;
        const frame = parsed.data;
        if (frame.kind === "reset") {
          reload().catch((error: unknown) => setProblem(String(error)));
          return;
        }
        if (frame.seq <= seq) return;
        seq = frame.seq;
        if (applyRoomEvent(current.current, frame.event)) redraw();
      };
    };
    setConnection("loading");
    reload()
      .then(() => {
        if (!closed) open();
      })
      .catch((error: unknown) => {
        setConnection("failed");
        setProblem(error instanceof Error ? error.message : String(error));
      });
    return () => {
      closed = true;
      source?.close();
      cancelAnimationFrame(frame);
    };
  }, [session]);

  const path = `/v1/sessions/${encodeURIComponent(session ?? "")}`;
  return {
    state,
    connection,
    problem,
    send: (text: string, mode?: string) => postJson(`${path}/messages`, { text, ...(mode ? { mode } : {}) }, SessionMessageAccepted),
    answer: (approvalId: string, answer: "yes" | "no" | "always") =>
      postJson(`${path}/approvals/${encodeURIComponent(approvalId)}`, { answer, by: "web" }, ApprovalAnswered),
    stop: () => postJson(`${path}/stop`, {}, StopAnswer),
  };
}
