import { useEffect, useMemo, useState } from "preact/hooks";
import { openApprovals } from "../room-state.ts";
import { VIEWS, type ViewName } from "../view-paths.ts";
import { RoomView, useSession } from "./room/room-view.tsx";
import { type Following, useRoom } from "./room/use-room.ts";
import { CandidatesView } from "./views/candidates-view.tsx";
import { ChangesView } from "./views/changes-view.tsx";
import { GrowthView } from "./views/growth-view.tsx";
import { MemoryView } from "./views/memory-view.tsx";
import { SupervisorView } from "./views/supervisor-view.tsx";
import { ToolsView } from "./views/tools-view.tsx";
import { openViewUpdates, UpdatesContext } from "./views/use-view.ts";

function viewOf(path: string): ViewName {
  return VIEWS.find((view) => view.path === path)?.name ?? "Room";
}

/**
 * The page: the navigation and the view its path names (links change the view without a reload). The room is followed
 * whichever view shows, so the Changes view sees the room's waiting changes and going back to the room loses nothing;
 * `opening` is the session the page came with, already followed.
 */
export function App({ opening }: { opening?: Following | undefined }) {
  const [view, setView] = useState<ViewName>(viewOf(location.pathname));
  const [session, choose, sessionProblem] = useSession();
  const room = useRoom(session, opening);
  const updates = useMemo(() => openViewUpdates(), []);
  useEffect(() => () => updates.close(), [updates]);
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
    <UpdatesContext.Provider value={updates}>
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
          {view === "Changes" && <ChangesView room={room.state} answer={room.answer} />}
          {view === "Tools" && <ToolsView />}
          {view === "Candidates" && <CandidatesView />}
          {view === "Growth" && <GrowthView />}
          {view === "Supervisor" && <SupervisorView />}
          {view === "Memory" && <MemoryView />}
        </main>
      </div>
    </UpdatesContext.Provider>
  );
}
