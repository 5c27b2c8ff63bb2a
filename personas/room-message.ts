import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";

/** The room message's schemas, made on first use: a command that reads no message never builds them. */
export const roomMessageSchemas = onFirstUse(() => {
  /** A tool call as the room records it: the parsed arguments a model gave. */
  const RoomToolCall = z.object({ id: z.string(), name: z.string(), arguments: z.record(z.string(), z.unknown()) });

  /** A tool a reply ran, with what it answered (redacted), kept so `/save` shows the work behind the words. */
  const RoomToolRun = z.object({ call: RoomToolCall, ok: z.boolean(), output: z.string() });

  /** One message said in the room, by the user or a persona. */
  const RoomMessage = z.object({
    id: z.string(),
    turnId: z.string(),
    /** "user" or a persona name. */
    from: z.string(),
    text: z.string(),
    time: z.string(),
    /** Personas that have this message in their context. */
    heardBy: z.array(z.string()),
    /** Personas this message asks to answer (its audience, or its @mentions). */
    addressed: z.array(z.string()),
    /** Set on a persona's reply that ended early; `text` keeps what arrived. */
    failed: z.string().optional(),
    /** Where the reply went when the mode was `file:<path>` (workspace-relative). */
    file: z.string().optional(),
    /** The tools the reply ran, in order. */
    tools: z.array(RoomToolRun).optional(),
    /** The workspace change made in this message's turn was undone (`/undo`): the models' context leaves it out. */
    undone: z.string().optional(),
  });
  return { RoomToolCall, RoomToolRun, RoomMessage };
});
type Schemas = ReturnType<typeof roomMessageSchemas>;
export type RoomToolRun = z.infer<Schemas["RoomToolRun"]>;
export type RoomMessage = z.infer<Schemas["RoomMessage"]>;
