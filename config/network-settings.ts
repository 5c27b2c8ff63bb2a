import { z } from "zod";
import { HostPattern } from "./web-settings.ts";

/** What `web_fetch` may reach: host names (`*.example.com` for its subdomains, `*` for any public host). */
export const NetworkEntry = z.strictObject({
  /** Hosts web_fetch may fetch from; only public addresses are ever reached, whatever is listed. */
  allowedHosts: z.array(HostPattern).max(1_000).optional(),
  /** Refuse hosts not in allowedHosts (true unless set; always true under ORG_PROFILE=prod). */
  defaultDeny: z.boolean().optional(),
  /** Seconds one fetch may take in all, redirects included. */
  timeoutS: z.number().positive().max(120).optional(),
  /** Bytes of body read at most; the rest is cut. */
  maxBytes: z
    .int()
    .min(1_024)
    .max(16 * 1024 * 1024)
    .optional(),
  /** Bytes a download saved into scratch (`web_fetch` with `save_to`) may hold; a larger one is not saved. */
  saveMaxBytes: z
    .int()
    .min(1_024)
    .max(50 * 1024 * 1024)
    .optional(),
  /** Fetches one persona may make per minute. */
  perMinute: z.int().min(1).max(10_000).optional(),
});
export type NetworkSettings = Required<z.infer<typeof NetworkEntry>>;

export const DEFAULT_NETWORK: NetworkSettings = {
  allowedHosts: [],
  defaultDeny: true,
  timeoutS: 10,
  maxBytes: 1024 * 1024,
  saveMaxBytes: 10 * 1024 * 1024,
  perMinute: 30,
};
