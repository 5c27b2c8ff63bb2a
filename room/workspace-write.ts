import type { ToolCall } from "../llm/chat-types.ts";
import type { ToolPolicy } from "../config/org-config.ts";
import { UnsafeWriteError } from "../security/safe-file-write.ts";
import type { ProposedChange } from "../tools/define-tool.ts";
import { ChangeConflictError } from "../workspace/apply-change-set.ts";
import { applyAndRecord } from "../workspace/change-journal.ts";
import { checkChangeSet, DEFAULT_PROTECTED_PATHS, describeRefusals, escapeName } from "../workspace/check-change-set.ts";
import { diffStats, unifiedDiff } from "../workspace/unified-diff.ts";
import type { RoomEvent } from "./room-event.ts";
import type { ApprovalAnswer } from "./tool-approval.ts";

/** What deciding a workspace change needs of the room. */
export type WorkspaceWriteRoom = {
  workspaceDir: string;
  sessionId: string;
  /** The `workspace_write` policy here: the console's `sandbox.workspaceWrite`, or serve's. */
  policy: ToolPolicy;
  /** `sandbox.protectedPaths` and org's config file, beside DEFAULT_PROTECTED_PATHS. */
  protectedPaths: readonly string[];
  limits: { patchBytes: number; patchFiles: number };
  approve: ((persona: string, call: ToolCall) => Promise<ApprovalAnswer>) | undefined;
  emit(event: RoomEvent): void;
  /** Keeps the newest change's diff for `/diff`. */
  setLastDiff(diff: string): void;
};

/**
 * The room's side of a change a command made on its private copy: refused whole when it conflicts with the
 * user's edits or fails the checks; otherwise shown (`✎ agent changed 3 files (+12 −4)`), decided under
 * `workspace_write` (allow, ask, deny), applied through the safe writer and recorded for `/undo`. Answers
 * the line the model reads; the room is told every outcome.
 */
export function workspaceWriter(room: WorkspaceWriteRoom, reply: { persona: string; turnId: string; replyId: string }) {
  const { persona } = reply;
  const notice = (message: string) => room.emit({ type: "notice", persona, reason: "workspace-change", message });
  return async (proposal: ProposedChange): Promise<string> => {
    if (proposal.refused) {
      notice(`${persona}'s change to the workspace was refused: ${proposal.refused}`);
      return proposal.refused;
    }
    const refuse = (message: string) => {
      notice(`${persona}'s change to the workspace: ${message}`);
      return message;
    };
    if (proposal.paths.length > room.limits.patchFiles) {
      return refuse(
        describeRefusals([
          { reason: `it touches ${proposal.paths.length} files, more than limits.patchFiles (${room.limits.patchFiles}); make a smaller change` },
        ]),
      );
    }
    const changeSet = proposal.changeSet();
    const check = checkChangeSet(changeSet, { limits: room.limits, protectedPaths: [...DEFAULT_PROTECTED_PATHS, ...room.protectedPaths] });
    if (!check.ok) return refuse(check.message);
    const conflicts = proposal.conflicts();
    if (conflicts.length > 0) {
      notice(`${persona}'s change to the workspace conflicts with your edits and was not applied: ${conflicts.map(escapeName).join(", ")}`);
      return `not applied: the user changed ${conflicts.map(escapeName).join(", ")} in the workspace meanwhile; nothing of either side was lost. Look at the files again and redo the change.`;
    }
    const stats = diffStats(changeSet);
    room.setLastDiff(unifiedDiff(changeSet));
    const counts = `${stats.files} ${stats.files === 1 ? "file" : "files"} (+${stats.added} −${stats.removed})`;
    notice(`✎ ${persona} changed ${counts} — /diff shows it`);
    const decision = await decide(
      room,
      persona,
      changeSet.changes.map((change) => change.path),
      stats,
    );
    if (decision !== true) {
      notice(`${persona}'s change was not applied: ${decision}`);
      return `not applied: ${decision}. Do not retry it; tell the user what you wanted to change.`;
    }
    try {
      const record = applyAndRecord(room.workspaceDir, changeSet, { sessionId: room.sessionId, turnId: reply.turnId, replyId: reply.replyId, persona });
      notice(`✎ ${persona}'s change was applied (${counts}); /undo takes it back`);
      return `applied to the workspace as change ${record.id}: ${counts}`;
    } catch (error) {
      if (!(error instanceof ChangeConflictError || error instanceof UnsafeWriteError)) throw error;
      notice(`${persona}'s change was not applied: ${error.message}`);
      return `not applied: ${error.message}`;
    }
  };
}

async function decide(room: WorkspaceWriteRoom, persona: string, files: string[], stats: { added: number; removed: number }): Promise<true | string> {
  if (room.policy === "allow") return true;
  if (room.policy === "deny") return 'the workspace_write policy is "deny" (sandbox.workspaceWrite, or serve.tools.workspace_write over HTTP)';
  if (!room.approve) return 'the workspace_write policy asks the user first ("ask"), and nobody can answer here';
  const call: ToolCall = { id: `workspace-write-${Date.now()}`, name: "workspace_write", arguments: { files, added: stats.added, removed: stats.removed } };
  const answer = await room.approve(persona, call);
  if (answer === true) return true;
  return answer === false ? "the user said no" : answer.denied;
}
