import { WORKSPACE_WRITE } from "../config/tool-names.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";
import { type DecidingPolicy, effectivePolicy, stricterPolicy } from "../security/policy.ts";
import { redact } from "../security/redact.ts";
import { UnsafeWriteError } from "../security/safe-file-write.ts";
import type { ProposedChange } from "../tools/define-tool.ts";
import { ChangeConflictError } from "../workspace/apply-change-set.ts";
import { applyAndRecord, keepConflictedChange, newChangeId } from "../workspace/change-journal.ts";
import { acceptChange } from "../workspace/accept-change.ts";
import { DEFAULT_PROTECTED_PATHS, type ExecutedPath, escapeName } from "../workspace/check-change-set.ts";
import { diffStats, unifiedDiff } from "../workspace/unified-diff.ts";
import type { ChangeRefusal, RoomEvent } from "./room-event.ts";
import type { Approver } from "./tool-approval.ts";
import { outsideWordsTaken, outsideWordsWhy, type WordsTaken } from "./outside-words.ts";

/** Lines of the diff the approval question shows before it asks; the rest is on /diff. */
const PREVIEW_LINES = 120;

/** What deciding a workspace change needs of the room. */
export type WorkspaceWriteRoom = {
  workspaceDir: string;
  sessionId: string;
  /** The `workspace_write` policy of a persona whose `tools` do not name it: the console's `sandbox.workspaceWrite`. */
  policy: ToolPolicy;
  /** Serve's API for programs: `serve.tools.workspace_write` ("deny" unless set), which no persona's policy loosens. */
  entryPolicy?: ToolPolicy;
  /** `sandbox.protectedPaths` and org's config file, beside DEFAULT_PROTECTED_PATHS. */
  protectedPaths: readonly string[];
  /** What the room's unsandboxed MCP servers run from: a change there would run as the user at their next start. */
  executedPaths?: readonly ExecutedPath[];
  /** `sandbox.secretPaths` (the config's and the policy's), hidden from the views and never written. */
  secretPaths: readonly string[];
  limits: { patchBytes: number; patchFiles: number };
  /** Asks whoever can answer (the console, a watcher of the room's stream) about a change under "ask". */
  approver: Approver | undefined;
  /** The room's server keys and URL credentials: a diff shown on the console is redacted with them. */
  secrets?: readonly string[];
  emit(event: RoomEvent): void;
  /** Keeps the newest change's diff for `/diff`. */
  setLastDiff(diff: string): void;
};

/** The reply whose command made the change, and the policies that bear on it. */
export type WorkspaceWriteReply = {
  persona: string;
  turnId: string;
  replyId: string;
  /** The turn's signal: a stop answers an open question about the change. */
  signal?: AbortSignal;
  /** The persona's own `tools.workspace_write`, when its config names it. */
  personaPolicy?: ToolPolicy;
  /** A hop: the code policy of the personas up the chain (invariant 12). */
  ceiling?: DecidingPolicy;
  /** What words from outside the persona took this turn (a page's): then its change is asked about, whatever "allow" says. */
  outsideWords?: () => WordsTaken | undefined;
};

/**
 * The room's side of a change a command made on its private copy: refused whole when it fails the checks; kept
 * aside (not applied, the user's files untouched) when it conflicts with the user's edits; otherwise shown
 * (`✎ agent changed 3 files (+12 −4)`), decided under `workspace_write` (allow, ask, deny), applied through the
 * safe writer and recorded for `/undo`. Answers the line the model reads; the room is told every outcome.
 */
export function workspaceWriter(room: WorkspaceWriteRoom, reply: WorkspaceWriteReply) {
  const { persona, replyId } = reply;
  const notice = (message: string) => room.emit({ type: "notice", persona, reason: "workspace-change", message });
  return async (proposal: ProposedChange): Promise<string> => {
    const changeId = newChangeId();
    // Each outcome is said twice: a notice for the console's eyes, a typed event for every other subscriber.
    const refuse = (reason: ChangeRefusal, message: string) => {
      notice(message);
      room.emit({ type: "change-refused", changeId, persona, replyId, reason, message });
    };
    const accepted = acceptChange(proposal, {
      limits: room.limits,
      protectedPaths: [...DEFAULT_PROTECTED_PATHS, ...room.protectedPaths],
      executedPaths: room.executedPaths ?? [],
      secretPaths: room.secretPaths,
      workspaceDir: room.workspaceDir,
    });
    if (!accepted.ok) {
      refuse("checks", `${persona}'s change to the workspace: ${accepted.message}`);
      return accepted.message;
    }
    const { changeSet } = accepted;
    // Made once: kept whole for git apply (a conflict, the record), shown redacted.
    const patch = unifiedDiff(changeSet);
    const diff = redact(patch, room.secrets ?? []);
    const stats = diffStats(changeSet);
    const files = changeSet.changes.map((change) => ({ path: change.path, status: change.status }));
    room.emit({ type: "change-proposed", changeId, persona, replyId, files, added: stats.added, removed: stats.removed, diff });
    room.setLastDiff(diff);
    const conflicts = proposal.conflicts();
    if (conflicts.length > 0) {
      const names = conflicts.map(escapeName).join(", ");
      const kept = keepConflictedChange(room.workspaceDir, patch, changeId);
      refuse(
        "conflict",
        `${persona}'s change to the workspace conflicts with your edits and was not applied: ${names}. Your ` +
          `files are as you left them; the change is kept in ${kept} (/diff shows it; git apply it to take it)`,
      );
      return (
        `not applied: the user changed ${names} in the workspace meanwhile; nothing of either side was ` +
        `lost (your change is kept aside for the user). Look at the files again and redo the change.`
      );
    }
    const counts = `${stats.files} ${stats.files === 1 ? "file" : "files"} (+${stats.added} −${stats.removed})`;
    notice(`✎ ${persona} changed ${counts} — /diff shows it`);
    const summary = { files: files.map((file) => file.path), added: stats.added, removed: stats.removed };
    const decision = await decide(room, reply, summary, diff, changeId);
    if (decision !== true) {
      refuse("denied", `${persona}'s change was not applied: ${decision}`);
      return `not applied: ${decision}. Do not retry it; tell the user what you wanted to change.`;
    }
    try {
      const origin = { sessionId: room.sessionId, turnId: reply.turnId, replyId, persona };
      const record = applyAndRecord(room.workspaceDir, changeSet, origin, patch, changeId);
      notice(`✎ ${persona}'s change was applied (${counts}); /undo takes it back`);
      room.emit({ type: "change-applied", changeId: record.id, persona, replyId });
      return `applied to the workspace as change ${record.id}: ${counts}`;
    } catch (error) {
      if (!(error instanceof ChangeConflictError || error instanceof UnsafeWriteError)) throw error;
      refuse("failed", `${persona}'s change was not applied: ${error.message}`);
      return `not applied: ${error.message}`;
    }
  };
}

/**
 * The policy a change is decided under, and the setting that gave it: the persona's `tools.workspace_write`, else
 * the room's; over HTTP never looser than `serve.tools.workspace_write`; in a hop never looser than the code policy
 * of the personas that asked.
 */
export function workspaceWritePolicy(
  room: Pick<WorkspaceWriteRoom, "policy" | "entryPolicy">,
  reply: WorkspaceWriteReply,
): { policy: ToolPolicy; setting: string } {
  const own =
    reply.personaPolicy !== undefined
      ? { policy: reply.personaPolicy, setting: `personas → ${reply.persona} → tools → ${WORKSPACE_WRITE}` }
      : { policy: room.policy, setting: "sandbox.workspaceWrite" };
  let decided = own;
  if (room.entryPolicy !== undefined && stricterPolicy(room.entryPolicy, own.policy) !== own.policy) {
    decided = { policy: room.entryPolicy, setting: `serve.tools.${WORKSPACE_WRITE}, over HTTP ("deny" unless set)` };
  }
  const hop = effectivePolicy({ policy: decided.policy, from: reply.persona }, { runsCode: true }, reply.ceiling);
  if (hop.from !== reply.persona) return { policy: hop.policy, setting: `${hop.from}'s policy (${hop.from} asked ${reply.persona} for this)` };
  return decided;
}

async function decide(
  room: WorkspaceWriteRoom,
  reply: WorkspaceWriteReply,
  summary: { files: string[]; added: number; removed: number },
  diff: string,
  changeId: string,
): Promise<true | string> {
  const { policy, setting } = workspaceWritePolicy(room, reply);
  const taken = reply.outsideWords?.();
  if (policy === "allow" && taken === undefined) return true;
  if (policy === "deny") return `the ${WORKSPACE_WRITE} policy is "deny" (${setting})`;
  if (taken !== undefined && !room.approver?.canAsk()) {
    const read = outsideWordsTaken(reply.persona, taken, room.secrets ?? []);
    return `${read}, after which a change is applied only when a person says yes, and nobody can answer here`;
  }
  if (!room.approver?.canAsk()) return `the ${WORKSPACE_WRITE} policy asks the user first ("ask": ${setting}), and nobody can answer here`;
  const why = taken === undefined ? undefined : outsideWordsWhy(reply.persona, WORKSPACE_WRITE, taken, room.secrets ?? []);
  const call = { id: `workspace-write-${changeId}`, name: WORKSPACE_WRITE, arguments: summary, preview: previewOf(diff) };
  const answer = await room.approver.ask(reply.persona, call, {
    replyId: reply.replyId,
    changeId,
    ...(reply.signal ? { signal: reply.signal } : {}),
    ...(why !== undefined ? { why } : {}),
  });
  if (answer === true) return true;
  return answer === false ? "the user said no" : answer.denied;
}

/** The diff as the approval question shows it: whole up to PREVIEW_LINES lines, then how much more /diff shows. */
function previewOf(diff: string): string {
  const lines = diff.replace(/\n$/, "").split("\n");
  if (lines.length <= PREVIEW_LINES) return lines.join("\n");
  return `${lines.slice(0, PREVIEW_LINES).join("\n")}\n… ${lines.length - PREVIEW_LINES} more lines (answer n, then /diff shows the whole change)`;
}
