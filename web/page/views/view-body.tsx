import { useEffect, useMemo } from "preact/hooks";
import type { RoomState } from "../../room-state.ts";
import type { ViewName } from "../../view-paths.ts";
import { CandidatesView } from "./candidates-view.tsx";
import { ChangesView } from "./changes-view.tsx";
import { GrowthView } from "./growth-view.tsx";
import { MemoryView } from "./memory-view.tsx";
import { SupervisorView } from "./supervisor-view.tsx";
import { ToolsView } from "./tools-view.tsx";
import { openViewUpdates, UpdatesContext } from "./use-view.ts";

/**
 * A view beside the room, following `/v1/web/updates` while one is shown. The page loads this module (the views, their
 * schemas) the first time such a view is shown: the room's first draw does not wait for it.
 */
export function ViewBody({
  view,
  room,
  answer,
}: {
  view: Exclude<ViewName, "Room">;
  room: RoomState;
  answer: (id: string, answer: "yes" | "no") => Promise<unknown>;
}) {
  const updates = useMemo(() => openViewUpdates(), []);
  useEffect(() => () => updates.close(), [updates]);
  return (
    <UpdatesContext.Provider value={updates}>
      {view === "Changes" && <ChangesView room={room} answer={answer} />}
      {view === "Tools" && <ToolsView />}
      {view === "Candidates" && <CandidatesView />}
      {view === "Growth" && <GrowthView />}
      {view === "Supervisor" && <SupervisorView />}
      {view === "Memory" && <MemoryView />}
    </UpdatesContext.Provider>
  );
}
