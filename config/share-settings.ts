import { z } from "zod";

/** `share` in org.config.json: what this workspace does with the offers `org share pull` lands (docs/share.md). */
export const ShareSettings = z.strictObject({
  /** Whether an offer this machine's gate passed is promoted without a person; else it waits for `org share promote`. */
  autoPromote: z.boolean().default(false),
});
export type ShareSettings = z.output<typeof ShareSettings>;
