import { redact } from "../security/redact.ts";
import { changeRules } from "../room/change-rules.ts";
import { undoChangeOutsideRoom } from "../room/undo-change.ts";
import { readJsonBody } from "../serve/read-json-body.ts";
import { type Route, route } from "../serve/router.ts";
import { ignoredChanges, listChanges, recordedPatch } from "../workspace/change-journal.ts";
import { type ChangeList, type AppliedChange, webApiSchemas } from "./web-api.ts";
import { refusalsAs409 } from "./refusal-answer.ts";
import type { WebContext } from "./web-routes.ts";

/** A diff longer than this is cut in the list (the journal keeps it whole). */
const DIFF_CHARS = 200_000;

/** The workspace's change journal, newest first, each with its diff (redacted with the room's secrets). */
export function changeList(context: Pick<WebContext, "workspaceDir" | "config">): ChangeList {
  const records = listChanges(context.workspaceDir).sort((a, b) => b.seq - a.seq);
  const newestApplied = records.find((record) => record.undone === undefined)?.id;
  const applied = records.map((record): AppliedChange => {
    let diff = "";
    try {
      diff = redact(recordedPatch(context.workspaceDir, record), context.config.secrets);
    } catch {
      diff = "(the recorded diff cannot be read)";
    }
    return {
      id: record.id,
      seq: record.seq,
      time: record.time,
      persona: record.persona ?? null,
      sessionId: record.sessionId ?? null,
      files: record.files.map((file) => ({ path: file.path, status: file.status })),
      added: record.stats.added,
      removed: record.stats.removed,
      undone: record.undone ?? null,
      diff: diff.length > DIFF_CHARS ? `${diff.slice(0, DIFF_CHARS)}\n… (cut; org undo --list --json has it whole)` : diff,
      undoable: record.id === newestApplied,
    };
  });
  return { applied, ignored: ignoredChanges(context.workspaceDir).length };
}

/** `GET /v1/changes` and `POST /v1/changes/undo`: the journal `/undo` and `org undo` share. */
export function changesRoutes(context: WebContext): Route[] {
  return [
    route("GET", "/v1/changes", () => Response.json(webApiSchemas().ChangeList.parse(changeList(context)))),
    route("POST", "/v1/changes/undo", async ({ request }) => {
      const body = await readJsonBody(request, webApiSchemas().UndoRequest, context.config.serve.maxBodyBytes);
      const rules = changeRules(context.config, context.workspaceDir);
      const record = await refusalsAs409(() => undoChangeOutsideRoom(context.workspaceDir, { force: body.force ?? false, rules }));
      const files = `${record.files.length} ${record.files.length === 1 ? "file" : "files"}`;
      return Response.json(webApiSchemas().UndoAnswer.parse({ changeId: record.id, said: `undid change ${record.id}: ${files} restored` }));
    }),
  ];
}
