import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { roomEventSchemas } from "./room-event.ts";

// What a subscriber of a room's stream receives, one frame at a time: the same schema on the server and in a browser
// (this module and what it imports need nothing but zod).

/** The stream frame's schemas, made on first use (a subscriber parses frames; the server only writes them). */
export const roomStreamFrameSchemas = onFirstUse(() => {
  /** One room event with its place in the room's stream: `seq` only grows, and a subscriber resumes after the last it saw. */
  const StreamedEvent = z.object({ kind: z.literal("event"), seq: z.number().int(), event: roomEventSchemas().RoomEvent });

  /**
   * Why a subscriber cannot be given what it missed: `gap`, the stream no longer holds the events after its number;
   * `unknown`, the number is not one this stream gave (another server's, or ahead of it).
   */
  const StreamResetReason = z.enum(["gap", "unknown"]);

  /**
   * The subscriber must reload what it shows from the transcript (whose `seq` says which events it holds); the live events
   * follow this frame at once, from `seq + 1`.
   */
  const StreamReset = z.object({ kind: z.literal("reset"), seq: z.number().int(), reason: StreamResetReason, message: z.string() });

  /** A frame of the room's stream: an event, or a reset. */
  const RoomStreamFrame = z.discriminatedUnion("kind", [StreamedEvent, StreamReset]);
  return { StreamedEvent, StreamResetReason, StreamReset, RoomStreamFrame };
});
type Schemas = ReturnType<typeof roomStreamFrameSchemas>;
export type StreamedEvent = z.infer<Schemas["StreamedEvent"]>;
export type StreamReset = z.infer<Schemas["StreamReset"]>;
export type RoomStreamFrame = z.infer<Schemas["RoomStreamFrame"]>;
