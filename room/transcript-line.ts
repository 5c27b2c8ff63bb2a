import { z } from "zod";
import { RoomEvent } from "./room-event.ts";

/** One line of `.org/sessions/<id>.jsonl`: a room event with the time it happened, or the session's header. */
export const TranscriptLine = z
  .discriminatedUnion("type", [
    z.object({
      type: z.literal("session-start"),
      sessionId: z.string(),
      personas: z.array(z.string()),
      mode: z.string(),
      version: z.literal(1),
    }),
    /** A process took the session up again: replies still open here were cut off by the previous one's end. */
    z.object({ type: z.literal("session-resumed") }),
    RoomEvent,
  ])
  .and(z.object({ time: z.string() }));
export type TranscriptLine = z.infer<typeof TranscriptLine>;
