import { z } from "zod";

/** A host name as the config lists one: exact, `*.` and a domain for its subdomains, or `*` for any public host. */
export const HostPattern = z
  .string()
  .regex(/^(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/i, "a host name, '*.' and a domain, or '*'");

/** `web_request`'s settings (`web` in org.config.json): where it may send without asking, and its bounds. */
export const WebSettings = z.strictObject({
  /** Hosts web_request sends to without asking; any other host asks the person first. Only public addresses are reached. */
  requestHosts: z.array(HostPattern).max(1_000).default([]),
  /** Requests one room may send per minute. */
  perMinute: z.int().min(1).max(10_000).default(10),
  /** Seconds one request may take in all. */
  timeoutS: z.number().positive().max(120).default(20),
  /** The largest request body sent, in bytes (a bigger one is refused before anything is sent). */
  maxRequestBytes: z
    .int()
    .min(1)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  /** Bytes of the answer's body read at most; the rest is cut. */
  maxResponseBytes: z
    .int()
    .min(1_024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
});
export type WebSettings = z.output<typeof WebSettings>;
