import { useEffect, useState } from "preact/hooks";
import { openApprovals } from "../room-state.ts";
import { VIEWS, type ViewName } from "../view-paths.ts";
import { RoomView } from "./room/room-view.tsx";
import { useSession } from "./room/session-picker.tsx";
import { type Following, useRoom } from "./room/use-room.ts";

type ViewBody = typeof import("./views/view-body.tsx").ViewBody;

function viewOf(path: string): ViewName {
  return VIEWS.find((view) => view.path === path)?.name ?? "Room";
}

/**
 * The views beside the room, once one is to be shown: their module (the views and their schemas) is evaluated then,
 * not before the room's first draw. Undefined until it is; a failure to load it is said instead.
 */
function useViewBody(wanted: boolean): { body?: ViewBody; problem?: string } {
  const [loaded, setLoaded] = useState<{ body?: ViewBody; problem?: string }>({});
  useEffect(() => {
    if (!wanted || loaded.body) return;
    let live = true;
    import("./views/view-body.tsx").then(
      (module) => live && setLoaded({ body: module.ViewBody }),
      (error: unknown) => live && setLoaded({ problem: `this view could not be loaded (${String(error)}); reload the page.` }),
    );
    return () => {
      live = false;
    };
  }, [wanted]);
  return loaded;
}

/**
 * The page: the navigation and the view its path names (links change the view without a reload). The room is followed
 * whichever view shows, so the Changes view sees the room's waiting changes and going back to the room loses nothing;
 * `session` is the one the page opened with (`?session=`, else the newest), `opening` that session already followed.
 */
export function App({ session: newest, opening }: { session: string | undefined; opening?: Following | undefined }) {
  const [view, setView] = useState<ViewName>(viewOf(location.pathname));
  const [session, choose, sessionProblem] = useSession(newest);
  const room = useRoom(session, opening);
  const other = useViewBody(view !== "Room");
  useEffect(() => {
    const onPop = () => setView(viewOf(location.pathname));
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  // Questions waiting for an answer: a badge on Room (left out of the link's name) and in the tab's title.
  const waiting = openApprovals(room.state).length;
  useEffect(() => {
    document.title = `${waiting > 0 ? `(${waiting}) ` : ""}${view} · org`;
  });
  const go = (event: MouseEvent, name: ViewName, path: string) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    history.pushState(null, "", `${path}${location.search}`);
    setView(name);
  };
  return (
    <>
      <div class={view === "Room" ? "page fits" : "page"}>
        <header class="top">
          <span class="brand">org</span>
          <nav aria-label="Views">
            {VIEWS.map((entry) => (
              <a
                key={entry.name}
                href={`${entry.path}${location.search}`}
                aria-current={entry.name === view ? "page" : undefined}
                onClick={(event) => go(event, entry.name, entry.path)}
              >
                {entry.name}
                {entry.name === "Room" && waiting > 0 && (
                  <span class="badge" aria-hidden="true">
                    {waiting}
                  </span>
                )}
              </a>
            ))}
          </nav>
        </header>
        <div class="sr-only" role="status">
          {waiting > 0 ? `${waiting} approval question${waiting === 1 ? "" : "s"} waiting in the room` : ""}
        </div>
        <main id="view">
          {view === "Room" && <RoomView session={session} choose={choose} sessionProblem={sessionProblem} room={room} />}
          {view !== "Room" && other.body && <other.body view={view} room={room.state} answer={room.answer} />}
          {view !== "Room" && other.problem && (
            <div class="error" role="alert">
              {other.problem}
            </div>
          )}
        </main>
      </div>
    </>
  );
}
