import { z } from "zod";
import { Duration } from "./duration.ts";

/** `share` in org.config.json: what this workspace does with the offers `org share pull` lands (docs/share.md). */
export const ShareSettings = z.strictObject({
  /** Whether an offer this machine's gate passed is promoted without a person; else it waits for `org share promote`. */
  autoPromote: z.boolean().default(false),
  /** How often `org supervise` runs `org share pull` in its round: "1h", "30m", or seconds; absent: never. */
  pullEvery: Duration.optional(),
});
export type ShareSettings = z.output<typeof ShareSettings>;
