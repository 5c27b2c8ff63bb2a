import { z } from "zod";

/** `compaction` in org.config.json: how a persona's prompt keeps to its model's window; every field has a default. */
export const CompactionSettings = z.strictObject({
  /** Tokens of the window kept free for the reply (never more than a quarter of a small window). */
  reserveTokens: z.int().min(64).max(1_000_000).default(1024),
  /** Summarise heard messages that fall out of the window (false: they are only left out, and that is said once). */
  auto: z.boolean().default(true),
  /** The summariser's model id, on the persona's own server; absent: the persona's model. */
  model: z.string().min(1).max(200).optional(),
});
export type CompactionSettings = z.infer<typeof CompactionSettings>;
