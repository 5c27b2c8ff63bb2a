import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { type RoomEvent, roomEventSchemas } from "./room-event.ts";

/** The session's header lines, without their time. */
function headerSchemas() {
  const SessionStart = z.object({
    type: z.literal("session-start"),
    sessionId: z.string(),
    personas: z.array(z.string()),
    mode: z.string(),
    version: z.literal(1),
  });
  /** A process took the session up again: replies still open here were cut off by the previous one's end. */
  const SessionResumed = z.object({ type: z.literal("session-resumed") });
  return { SessionStart, SessionResumed };
}
type Headers = ReturnType<typeof headerSchemas>;

/** One line of `.org/sessions/<id>.jsonl`: a room event with the time it happened, or the session's header. */
export type TranscriptLine = (z.infer<Headers["SessionStart"]> | z.infer<Headers["SessionResumed"]> | RoomEvent) & { time: string };

/**
 * A line's schema, made on first use (the room writes its lines; only what reads them builds it): one flat union whose
 * every member has its time. (An intersection of the union with `{ time }` checked each line twice and merged the
 * halves: two to three times as long, which the web page, where zod runs without compiling its parsers, pays for every
 * line of the room's state it opens with.)
 */
export const transcriptLineSchema = onFirstUse((): z.ZodType<TranscriptLine> => {
  const { SessionStart, SessionResumed } = headerSchemas();
  const time = { time: z.string() };
  return z.discriminatedUnion("type", [
    SessionStart.extend(time),
    SessionResumed.extend(time),
    ...roomEventSchemas().RoomEvent.options.map((member) => member.extend(time)),
  ]);
});
