import { z } from "zod";

export const WAIT_REASONS = ["queued", "first-token"] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/**
 * What a model call is waiting for, and at which server: a free slot (`queued`) or its first token. The
 * fields of the room's `waiting` event, whose server is `baseUrl` on the wire (serve's event stream); made when the
 * room event's schemas are.
 */
export function modelWaitFields() {
  return { reason: z.enum(WAIT_REASONS), baseUrl: z.string() } as const;
}
export type ModelWait = { reason: WaitReason; baseUrl: string };

/** The wait of a call to `server` (the port's `server`). */
export function modelWait(reason: WaitReason, server: string): ModelWait {
  return { reason, baseUrl: server };
}
