import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { type ChangeRecord, type ChangeRules, undoLastChange } from "../workspace/change-journal.ts";
import type { RoomEvent } from "./room-event.ts";
import { appendToTranscript } from "./transcript.ts";

/**
 * `/undo` and `org undo`: takes back the newest change applied to the workspace (`undoLastChange`: only a record of
 * this workspace's own journal, checked under `rules` as a change would be, refused over later edits unless `force`),
 * and returns it with what the room says of it: a `change-undone` event (its turn leaves the models' context, on
 * `--resume` too) and a notice. The room emits them; `org undo` writes them to the transcript of the session that
 * made the change.
 */
export function undoChange(workspaceDir: string, options: { force: boolean; rules: ChangeRules }): { record: ChangeRecord; events: RoomEvent[] } {
  const record = undoLastChange(workspaceDir, { force: options.force, rules: options.rules });
  const counts = `${record.stats.files} ${record.stats.files === 1 ? "file" : "files"}`;
  const events: RoomEvent[] = [
    {
      type: "change-undone",
      changeId: record.id,
      ...(record.replyId ? { replyId: record.replyId } : {}),
      ...(record.persona ? { persona: record.persona } : {}),
    },
    {
      type: "notice",
      reason: "workspace-change",
      message: `↶ undid ${record.persona ?? "a"}'s change ${record.id} (${counts}); that turn is out of the models' context`,
    },
  ];
  return { record, events };
}

/**
 * `org undo` and the web room's Undo, outside the room that made the change: `undoChange`, and what the room would
 * have said of it written to the transcript of the session that made it, so a resumed session leaves that reply out
 * of the models' context.
 */
export function undoChangeOutsideRoom(workspaceDir: string, options: { force: boolean; rules: ChangeRules }): ChangeRecord {
  const { record, events } = undoChange(workspaceDir, options);
  if (record.sessionId) appendToTranscript(join(workspaceDir, SESSIONS_DIR), record.sessionId, events);
  return record;
}
