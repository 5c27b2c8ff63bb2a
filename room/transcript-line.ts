import { z } from "zod";
import { RoomEvent } from "./room-event.ts";

const SessionStart = z.object({
  type: z.literal("session-start"),
  sessionId: z.string(),
  personas: z.array(z.string()),
  mode: z.string(),
  version: z.literal(1),
});
/** A process took the session up again: replies still open here were cut off by the previous one's end. */
const SessionResumed = z.object({ type: z.literal("session-resumed") });

/** One line of `.org/sessions/<id>.jsonl`: a room event with the time it happened, or the session's header. */
export type TranscriptLine = (z.infer<typeof SessionStart> | z.infer<typeof SessionResumed> | RoomEvent) & { time: string };

const time = { time: z.string() };

/**
 * A line's schema: one flat union whose every member has its time. (An intersection of the union with `{ time }`
 * checked each line twice and merged the halves: two to three times as long, which the web page, where zod runs
 * without compiling its parsers, pays for every line of the room's state it opens with.)
 */
export const TranscriptLine: z.ZodType<TranscriptLine> = z.discriminatedUnion("type", [
  SessionStart.extend(time),
  SessionResumed.extend(time),
  ...RoomEvent.options.map((member) => member.extend(time)),
]);
