import type { TranscriptLine } from "../room/transcript-line.ts";
import { answerApproval, applyRoomEvent, emptyRoomState, type RoomState } from "./room-state.ts";

/** A page of a transcript (whole turns, as serve's session routes give them) folded into a room view's state. */
export function foldTranscriptLines(lines: readonly TranscriptLine[], personas: readonly string[] = [], mode = "group"): RoomState {
  const state = emptyRoomState(personas, mode);
  for (const line of lines) if (line.type !== "session-start" && line.type !== "session-resumed") applyRoomEvent(state, line);
  return state;
}

/**
 * Puts an older page's turns before the state's own, in place: the page (`foldTranscriptLines` of the lines before the
 * state's first) ends where the state begins, so its turns are finished, and the notes the state held before its first
 * turn go with the page's last turn, where one fold of both pages would have put them. A question of the page is
 * answered as a later page says, or no longer asked when nothing says so (what waits came with the state's own page).
 */
export function prependOlder(state: RoomState, older: RoomState): void {
  if (older.turns.length === 0 && older.notes.length === 0) return;
  for (const turn of older.turns) {
    turn.done = true;
    for (const reply of turn.replies) reply.done = true;
  }
  const last = older.turns.at(-1);
  if (last) {
    last.notes.push(...state.notes);
    state.notes = older.notes;
  } else state.notes = [...older.notes, ...state.notes];
  state.turns.unshift(...older.turns);
  for (const [id, reply] of older.replies) if (!state.replies.has(id)) state.replies.set(id, reply);
  for (const [id, approval] of older.approvals) {
    if (state.approvals.has(id)) continue;
    state.approvals.set(id, approval);
    // Answered in a later page; or, open in none (the room lists what still waits), no longer waiting.
    if (approval.answer === undefined) answerApproval(state, id, state.answered.get(id) ?? { answer: "no longer asked", by: "" });
  }
  for (const [id, answered] of older.answered) if (!state.approvals.has(id)) state.answered.set(id, answered);
  for (const persona of older.personas) if (!state.personas.includes(persona)) state.personas.push(persona);
  state.rev += 1;
}
