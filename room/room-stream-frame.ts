import { z } from "zod";
import { RoomEvent } from "./room-event.ts";

// What a subscriber of a room's stream receives, one frame at a time: the same schema on the server and in a browser
// (this module and what it imports need nothing but zod).

/** One room event with its place in the room's stream: `seq` only grows, and a subscriber resumes after the last it saw. */
export const StreamedEvent = z.object({ kind: z.literal("event"), seq: z.number().int(), event: RoomEvent });
export type StreamedEvent = z.infer<typeof StreamedEvent>;

/**
 * Why a subscriber cannot be given what it missed: `gap`, the stream no longer holds the events after its number;
 * `unknown`, the number is not one this stream gave (another server's, or ahead of it).
 */
export const StreamResetReason = z.enum(["gap", "unknown"]);

/**
 * The subscriber must reload what it shows from the transcript (whose `seq` says which events it holds); the live events
 * follow this frame at once, from `seq + 1`.
 */
export const StreamReset = z.object({ kind: z.literal("reset"), seq: z.number().int(), reason: StreamResetReason, message: z.string() });
export type StreamReset = z.infer<typeof StreamReset>;

/** A frame of the room's stream: an event, or a reset. */
export const RoomStreamFrame = z.discriminatedUnion("kind", [StreamedEvent, StreamReset]);
export type RoomStreamFrame = z.infer<typeof RoomStreamFrame>;
