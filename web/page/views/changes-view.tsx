import type { RoomState } from "../../room-state.ts";
import { webApiSchemas } from "../../web-api.ts";
import { postJson } from "../api.ts";
import { DiffView } from "./diff-view.tsx";
import { SaidLine, Problem } from "./said-line.tsx";
import { useAction, useView } from "./use-view.ts";

/**
 * The agents' change sets: those waiting for a word (the room's open `workspace_write` questions) with Accept and
 * Reject, and the journal of applied ones (the same as `/undo` and `org undo`) with Undo on the newest still applied.
 */
export function ChangesView({ room, answer }: { room: RoomState; answer: (id: string, answer: "yes" | "no") => Promise<unknown> }) {
  const { data, problem } = useView("changes", "/v1/changes", webApiSchemas().ChangeList);
  const { said, run } = useAction();
  const waiting = [...room.approvals.values()].filter((entry) => entry.answer === undefined && entry.approval.call.name === "workspace_write");
  return (
    <div class="view">
      <h1>Changes</h1>
      <Problem text={problem} />
      <SaidLine said={said} />
      <h2>Waiting for you</h2>
      {waiting.length === 0 && <p class="muted">No change waits for a word.</p>}
      {waiting.map(({ approval }) => (
        <article key={approval.approvalId} class="card" aria-label={`change by ${approval.persona}, waiting`}>
          <div>
            <strong>{approval.persona}</strong> wants to change the workspace
          </div>
          <DiffView diff={approval.preview ?? ""} label={`diff of ${approval.persona}'s waiting change`} />
          <div class="buttons">
            <button type="button" onClick={() => run(async () => {
                await answer(approval.approvalId, "yes");
                return { said: "accepted" };
              })}>
              Accept
            </button>
            <button type="button" onClick={() => run(async () => {
                await answer(approval.approvalId, "no");
                return { said: "rejected" };
              })}>
              Reject
            </button>
          </div>
        </article>
      ))}
      <h2>Applied</h2>
      {data && data.applied.length === 0 && <p class="muted">No change was applied in this workspace yet.</p>}
      {data?.applied.map((change) => (
        <article key={change.id} class="card" aria-label={`change ${change.id}`}>
          <div class="card-head">
            <strong>{change.id}</strong> by {change.persona ?? "?"} · {change.files.length} file{change.files.length === 1 ? "" : "s"}{" "}
            (+{change.added} −{change.removed}) · {change.undone ? `undone ${change.undone}` : "applied"}
            {change.undoable && (
              <button type="button" onClick={() => run(() => postJson("/v1/changes/undo", {}, webApiSchemas().UndoAnswer))}>
                Undo
              </button>
            )}
          </div>
          <DiffView diff={change.diff} label={`diff of change ${change.id}`} />
        </article>
      ))}
    </div>
  );
}
