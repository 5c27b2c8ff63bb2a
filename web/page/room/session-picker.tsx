import { useEffect, useState } from "preact/hooks";
import { type SessionList, sessionApiSchemas } from "../../../serve/session-api.ts";
import { getJson, postJson, webApi } from "../api.ts";

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
export function SessionPicker({ session, choose }: { session: string | undefined; choose: (id: string) => void }) {
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
      <select
        aria-label="Session"
        value={session ?? ""}
        onFocus={() => ask((count) => count + 1)}
        onChange={(event) => choose(event.currentTarget.value)}
      >
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

