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
