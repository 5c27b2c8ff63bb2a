import type { PromptSummary } from "../personas/prompt-assembly.ts";
import type { RoomMessage } from "../personas/room-message.ts";

/**
 * Marks the turn of the reply `replyId` undone by the change `changeId`: the user's message and every reply of that
 * turn, so the models' context carries none of it (the change is gone, and so is the ask that led to it). The
 * transcript keeps them, marked; nothing is marked when the reply is unknown.
 */
export function markTurnUndone(history: RoomMessage[], replyId: string | undefined, changeId: string): void {
  const turnId = history.find((message) => message.id === replyId)?.turnId;
  if (turnId === undefined) return;
  for (const [index, message] of history.entries()) {
    if (message.turnId === turnId && message.undone === undefined) history[index] = { ...message, undone: changeId };
  }
}

/**
 * Drops each summary that covers a message of the turn `replyId` undid: the summary may hold what the turn said, which
 * the models' context no longer carries. The next prompt holds the trimmed window, and the next compaction summarises
 * again without the undone turn.
 */
export function dropSummariesOfUndone(history: readonly RoomMessage[], summaries: Map<string, PromptSummary>, replyId: string | undefined): void {
  const turnId = history.find((message) => message.id === replyId)?.turnId;
  if (turnId === undefined) return;
  const first = history.findIndex((message) => message.turnId === turnId);
  for (const [persona, summary] of summaries) {
    if (history.findIndex((message) => message.id === summary.throughId) >= first) summaries.delete(persona);
  }
}
