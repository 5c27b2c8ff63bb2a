import { z } from "zod";

/**
 * `observer` in org.config.json: the supervisor's observer, which reads a quiet session's new messages and proposes
 * facts and preferences about the person (docs/memory.md). Every field has a default.
 */
export const ObserverSettings = z.strictObject({
  /** `suggest`: proposals wait for the person (`/facts`); `auto`: active at once; `off`: the observer does not run. */
  promote: z.enum(["auto", "suggest", "off"]).default("suggest"),
  /** Minutes a session's transcript must have stayed unwritten before the observer reads it. */
  quietMinutes: z.int().min(1).max(10_080).default(10),
  /** Characters of the profile (`.org/memory/profile.md`) the weekly digest writes and every persona's prompt carries. */
  profileChars: z.int().min(200).max(8_000).default(1_500),
});
export type ObserverSettings = z.infer<typeof ObserverSettings>;
