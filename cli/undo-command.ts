import { changeRules } from "../room/change-rules.ts";
import { undoChangeOutsideRoom } from "../room/undo-change.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { type ChangeRecord, ignoredChanges, listChanges } from "../workspace/change-journal.ts";
import { escapeName } from "../workspace/check-change-set.ts";
import type { Command } from "./command/command.ts";
import { loadCommandConfig } from "./command/command-config.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { parseCommandArgs } from "./command/parse-command-args.ts";
import { prepareWorkspace } from "./command/workspace-dir.ts";

const HELP = `Usage: org undo [--list] [--json] [--force] [--workspace DIR] [--config FILE]

Takes back the newest change the agents applied to the workspace (sandbox.workspace "write"), as /undo does in
the room: every touched file gets its bytes and mode back, and the reply that made the change leaves the models'
context. Run again, it goes one change further back. Every applied change is recorded under .org/changes/<id>/
(the patch, the prior content, the session and reply that made it), numbered in order and bound to this
workspace's .org folder: a record that came in with a clone or an archive is ignored. An undo is checked as a
change is (protected and secret paths, links leading outside, sizes) and refused whole, saying why. A change whose
files were edited since is refused, naming them; --force takes it back anyway (the later edits are lost). org
never commits, never moves HEAD and never touches the index.

Options:
  --list             list the recorded changes, newest first, instead of undoing one
  --json             print the undone change (or the list) as JSON
  --force            undo even over files edited since
  --workspace DIR    the workspace (default: the current directory)
  --config FILE      the config whose sandbox.protectedPaths and secretPaths an undo keeps to (default: the
                     workspace's org.config.json)

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
      config: { type: "string" },
    });
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    const ignored = ignoredChanges(workspaceDir);
    if (ignored.length > 0) {
      const shown = ignored.slice(0, 5).map(escapeName).join(", ");
      process.stderr.write(
        `org: ${ignored.length} record(s) under .org/changes/ ${ignored.length === 1 ? "is" : "are"} ignored: ` +
          `not made in this workspace's .org (a clone's or an archive's) or unreadable: ${shown}${ignored.length > 5 ? ", …" : ""}\n`,
      );
    }
    if (values.list) {
      const records = listChanges(workspaceDir);
      if (values.json) console.log(terminalSafeJson(records));
      else console.log(records.length === 0 ? "(no change recorded in this workspace)" : records.map(describe).join("\n"));
      return 0;
    }
    const rules = changeRules(loadCommandConfig(values.config, workspaceDir), workspaceDir);
    const record = undoChangeOutsideRoom(workspaceDir, { force: values.force ?? false, rules });
    if (values.json) console.log(terminalSafeJson(record));
    else console.log(`undid change ${record.id}: ${record.files.length} ${record.files.length === 1 ? "file" : "files"} restored`);
    return 0;
  },
};
