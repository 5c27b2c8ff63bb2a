import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { LOGIN_NEEDED } from "../../../serve/login-page.ts";
import { type SessionList, sessionApiSchemas } from "../../../serve/session-api.ts";
import type { Reply, RoomNote, RoomState, Turn } from "../../room-state.ts";
import { getJson, postJson, webApi } from "../api.ts";
import { ApiError } from "../page-key.ts";
import { Pure } from "../pure.tsx";
import { VirtualList } from "../virtual-list.tsx";
import { ReplyBody } from "./reply-view.tsx";
import type { useRoom } from "./use-room.ts";

/** The session the page shows: `?session=` in the address, else the newest one (`newest`, as the page read it), else a new one. */
export function useSession(newest: string | undefined): [string | undefined, (id: string) => void, string | undefined] {
  const [session, setSession] = useState<string | undefined>(() => new URLSearchParams(location.search).get("session") ?? newest);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const choose = (id: string) => {
    const url = new URL(location.href);
    url.searchParams.set("session", id);
    history.replaceState(null, "", url);
    setSession(id);
  };
  useEffect(() => {
    if (session === undefined)
      webApi()
        .then(({ webApiSchemas }) => postJson("/v1/sessions", {}, webApiSchemas().SessionCreated))
        .then(
        (created) => choose(created.session),
        (error: unknown) => setProblem(error instanceof Error ? error.message : String(error)),
      );
    else if (new URLSearchParams(location.search).get("session") !== session) choose(session);
  }, [session]);
  return [session, choose, problem];
}

/** The workspace's sessions (the terminal's too), newest first, read again when the list is opened: the room shows the one picked. */
function SessionPicker({ session, choose }: { session: string | undefined; choose: (id: string) => void }) {
  const [listed, setListed] = useState<SessionList["sessions"]>([]);
  const [asked, ask] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    getJson("/v1/sessions?limit=50", sessionApiSchemas().SessionList, controller.signal).then(
      (answer) => setListed(answer.sessions),
      () => {},
    );
    return () => controller.abort();
  }, [session, asked]);
  const shown = session === undefined || listed.some((entry) => entry.id === session) ? listed : [{ id: session, title: "", updated: "" }, ...listed];
  // The arrow is the wrapper's, beside the box rather than over its text (a native one covered a long label's end).
  return (
    <span class="session-picker">
      <select aria-label="Session" value={session ?? ""} onFocus={() => ask((count) => count + 1)} onChange={(event) => choose(event.currentTarget.value)}>
        {shown.map((entry) => (
          <option key={entry.id} value={entry.id} title={entry.id}>
            {entry.title || entry.id}
            {entry.updated ? ` (${entry.updated.slice(0, 16).replace("T", " ")})` : ""}
          </option>
        ))}
      </select>
    </span>
  );
}

function NoteLine({ note }: { note: RoomNote }) {
  return (
    <div class={`note ${note.kind}`}>
      {note.persona ? `${note.persona}: ` : ""}
      {note.text}
    </div>
  );
}

/** A finished turn in the transcript: what the user sent, each reply under its persona's name, the room's notes. */
function PastTurn({ turn }: { turn: Turn }) {
  return (
    <div class="turn">
      {turn.text !== "" && (
        <div class="user-message">
          <span class="who">you</span>
          <div class="user-text">{turn.text}</div>
        </div>
      )}
      {turn.replies.map((reply) => (
        <article key={reply.replyId} class="reply" aria-label={`${reply.persona}'s reply`}>
          <div class="who">{reply.persona}</div>
          <ReplyBody reply={reply} />
        </article>
      ))}
      {turn.notes.map((note, index) => (
        <NoteLine key={`${index}`} note={note} />
      ))}
    </div>
  );
}

/** A persona's model window beside its name (`4096-token window`), where it came from on hover. */
function LaneWindow({ window }: { window: { tokens: number; source: string; detail?: string | undefined } | undefined }) {
  if (!window) return null;
  return (
    <span class="lane-window muted" title={`${window.source}${window.detail ? `: ${window.detail}` : ""}`}>
      {` ${window.tokens}-token window (${window.source})`}
    </span>
  );
}

/** Each persona's lane: a region named by the persona, its replies of the newest turn streaming side by side. */
function Lanes({ state, turn, onAnswer }: { state: RoomState; turn: Turn | undefined; onAnswer: (id: string, answer: "yes" | "no" | "always") => void }) {
  const byPersona = new Map<string, Reply[]>();
  for (const reply of turn?.replies ?? []) byPersona.set(reply.persona, [...(byPersona.get(reply.persona) ?? []), reply]);
  return (
    <div class="lanes">
      {state.personas.map((persona) => {
        const replies = byPersona.get(persona) ?? [];
        const busy = replies.some((reply) => !reply.done);
        return (
          <section key={persona} class={`lane ${busy ? "busy" : ""}`} aria-label={persona} aria-live="polite" aria-busy={busy}>
            <h2 class="lane-name">
              {persona}
              <LaneWindow window={state.windows?.[persona]} />
              {busy ? <span class="dot" title="replying" /> : null}
            </h2>
            {replies.length === 0 ? (
              <div class="muted">{turn ? "no reply this turn" : "idle"}</div>
            ) : (
              replies.map((reply) => <Pure key={reply.replyId} stamp={reply.rev} render={() => <ReplyBody reply={reply} onAnswer={onAnswer} />} />)
            )}
          </section>
        );
      })}
    </div>
  );
}

/** The title of a command's answer: its name, capitalised (`/output` → Output). */
const titleOf = (command: string) => `${command.slice(0, 1).toUpperCase()}${command.slice(1)}`;

type RoomProps = { session: string | undefined; choose: (id: string) => void; sessionProblem: string | undefined; room: ReturnType<typeof useRoom> };

/** The room: the transcript (only what is on screen is drawn), the newest turn's lanes, and the message box. */
export function RoomView({ session, choose, sessionProblem, room }: RoomProps) {
  const { state } = room;
  const [text, setText] = useState("");
  const [said, setSaid] = useState<{ title: string; body: string } | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const running = state.turns.at(-1)?.done === false;

  const fail = (error: unknown) => setProblem(error instanceof ApiError || error instanceof Error ? error.message : String(error));
  const onAnswer = (id: string, answer: "yes" | "no" | "always") => room.answer(id, answer).catch(fail);
  const stop = () => room.stop().catch(fail);
  const base = `/v1/sessions/${encodeURIComponent(session ?? "")}`;

  const submit = async () => {
    setProblem(undefined);
    if (text.trim() === "") return;
    if (session === undefined || room.connection === "loading") return setProblem("the room is still opening; send again in a moment.");
    const line = text;
    setText("");
    try {
      // A line that starts with / is the server's to read (the room's one interpreter); it may still be a message (//text).
      const read = line.trimStart().startsWith("/")
        ? await postJson(`${base}/command`, { line }, (await webApi()).webApiSchemas().CommandAnswer)
        : ({ type: "message", text: line } as const);
      if (read.type === "message") await room.send(read.text);
      else if (read.type === "answer" && read.ok) setSaid({ title: titleOf(read.command), body: read.lines.join("\n") });
      else if (read.type === "answer") setProblem(read.lines.join("\n"));
    } catch (error) {
      fail(error);
    }
  };

  // Escape stops the replies wherever the focus is; the listener reads what runs now through a ref.
  const keys = useRef({ running, stop });
  keys.current = { running, stop };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && keys.current.running) {
        event.preventDefault();
        void keys.current.stop();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && atBottom.current) element.scrollTop = element.scrollHeight;
  });

  const past = state.turns.slice(0, -1);
  const newest = state.turns.at(-1);
  // The finished turns are drawn again only when one of them changed, or turns came before or after them.
  let pastRevisions = 0;
  for (const turn of past) pastRevisions += turn.rev;
  const pastStamp = `${session} ${past.length} ${past[0]?.turnId ?? ""} ${pastRevisions}`;
  return (
    <div class="room">
      <div class="room-bar">
        <h1 class="room-title">Room</h1>
        <Pure stamp={session ?? ""} render={() => <SessionPicker session={session} choose={choose} />} />
        <span class="muted">
          session {session ?? "…"} · {room.connection} · mode {state.mode}
        </span>
        {room.connection === "logged-out" && (
          <span class="error" role="status">
            {LOGIN_NEEDED}
          </span>
        )}
        <button
          type="button"
          onClick={() =>
            webApi()
              .then(({ webApiSchemas }) => postJson("/v1/sessions", {}, webApiSchemas().SessionCreated))
              .then((created) => choose(created.session), fail)
          }
        >
          New session
        </button>
      </div>
      <div
        class="scroller"
        ref={scroller}
        onScroll={(event) => {
          const element = event.currentTarget;
          atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
        }}
      >
        {state.notes.map((note, index) => (
          <NoteLine key={`${index}`} note={note} />
        ))}
        {room.older.cursor !== null && (
          <div class="older">
            <button type="button" class="link" onClick={() => void room.loadOlder()} aria-disabled={room.older.loading}>
              {room.older.loading ? "Reading earlier messages…" : "Earlier messages"}
            </button>
          </div>
        )}
        <Pure
          stamp={pastStamp}
          render={() => (
            <VirtualList
              key={session}
              items={past}
              keyOf={(turn) => turn.turnId}
              estimate={160}
              scroller={scroller}
              onNearStart={room.loadOlder}
              startAtEnd
            >
              {(turn) => <PastTurn turn={turn} />}
            </VirtualList>
          )}
        />
        {newest && newest.text !== "" && (
          <div class="user-message current">
            <span class="who">you</span>
            <div class="user-text">{newest.text}</div>
          </div>
        )}
        <Lanes state={state} turn={newest} onAnswer={onAnswer} />
        {newest?.notes.map((note, index) => (
          <NoteLine key={`${index}`} note={note} />
        ))}
      </div>
      {said && (
        <section class="said" aria-label={`${said.title} output`}>
          <div class="said-head">
            <strong>{said.title}</strong>
            <button type="button" onClick={() => setSaid(undefined)}>
              Close
            </button>
          </div>
          <pre>{said.body}</pre>
        </section>
      )}
      {(problem ?? sessionProblem ?? room.problem) && (
        <div class="error" role="alert">
          {problem ?? sessionProblem ?? room.problem}
        </div>
      )}
      <form
        class="composer"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <textarea
          aria-label="Message"
          placeholder="Message the room — @persona to address one, /help for the commands"
          rows={2}
          value={text}
          onInput={(event) => setText(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
              event.preventDefault();
              void submit();
            }
          }}
        />
        <div class="composer-buttons">
          <button type="submit">Send</button>
          <button type="button" onClick={() => void stop()} aria-disabled={!running}>
            Stop
          </button>
        </div>
      </form>
    </div>
  );
}
