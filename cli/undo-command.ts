import { existsSync } from "node:fs";
import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { appendPrivateFile } from "../security/private-state.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { type ChangeRecord, listChanges, undoLastChange } from "../workspace/change-journal.ts";
import { escapeName } from "../workspace/check-change-set.ts";
import type { Command } from "./command.ts";
import { nameAndSummary } from "./command-summaries.ts";
import { parseCommandArgs } from "./parse-command-args.ts";
import { prepareWorkspace } from "./workspace-dir.ts";

const HELP = `Usage: org undo [--list] [--json] [--force] [--workspace DIR]

Takes back the newest change the agents applied to the workspace (sandbox.workspace "write"), as /undo does in
the room: every touched file gets its bytes and mode back, and the reply that made the change leaves the models'
context. Run again, it goes one change further back. Every applied change is recorded under .org/changes/<id>/
(the patch, the prior content, the session and reply that made it). A change whose files were edited since is
refused, naming them; --force takes it back anyway (the later edits are lost). org never commits, never moves
HEAD and never touches the index.

Options:
  --list             list the recorded changes, newest first, instead of undoing one
  --json             print the undone change (or the list) as JSON
  --force            undo even over files edited since
  --workspace DIR    the workspace (default: the current directory)

Examples:
  org undo --list
  org undo
  org undo --force --json`;

function describe(record: ChangeRecord): string {
  const state = record.undone ? "undone" : "applied";
  const files = record.files.map((file) => `${file.status} ${escapeName(file.path)}`).join(", ");
  return `${record.id}  ${state}  ${record.persona ?? "?"}  +${record.stats.added} −${record.stats.removed}  ${files}`;
}

/** `org undo`. */
export const undoCommand: Command = {
  ...nameAndSummary("undo"),
  help: HELP,
  async run(args) {
    const { values } = parseCommandArgs("undo", args, {
      list: { type: "boolean" },
      json: { type: "boolean" },
      force: { type: "boolean" },
      workspace: { type: "string" },
    });
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    if (values.list) {
      const records = listChanges(workspaceDir);
      if (values.json) console.log(terminalSafeJson(records));
      else console.log(records.length === 0 ? "(no change recorded in this workspace)" : records.map(describe).join("\n"));
      return 0;
    }
    const record = undoLastChange(workspaceDir, { force: values.force ?? false });
    // The room's transcript learns it too: a resumed session leaves the reply out of the models' context.
    const transcript = record.sessionId ? join(workspaceDir, SESSIONS_DIR, `${record.sessionId}.jsonl`) : undefined;
    if (transcript && record.replyId && /^[\w.-]+$/.test(record.sessionId ?? "") && existsSync(transcript)) {
      const line = {
        type: "change-undone",
        changeId: record.id,
        replyId: record.replyId,
        ...(record.persona ? { persona: record.persona } : {}),
        time: new Date().toISOString(),
      };
      appendPrivateFile(transcript, `${JSON.stringify(line)}\n`);
    }
    if (values.json) console.log(terminalSafeJson(record));
    else console.log(`undid change ${record.id}: ${record.files.length} ${record.files.length === 1 ? "file" : "files"} restored`);
    return 0;
  },
};
