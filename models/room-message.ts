/** One message said in the room, by the user or a persona. */
export type RoomMessage = {
  id: string;
  turnId: string;
  from: string; // "user" or a persona name
  text: string;
  time: string;
  /** Personas that have this message in their context. */
  heardBy: string[];
  /** Personas this message asks to answer (its audience, or its @mentions). */
  addressed: string[];
  /** Set on a persona's reply that ended early; `text` keeps what arrived. */
  failed?: string;
  /** Where the reply went when the mode was `file:<path>` (workspace-relative). */
  file?: string;
};
