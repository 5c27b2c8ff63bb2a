import { z } from "zod";
import { PRESET_NAMES } from "./egress-policy.ts";
import { HostPattern } from "./web-settings.ts";

/** A host a sandboxed command may be let through to: a name, `*.` and a domain, or an IP address (for a CONNECT to it). */
export const EgressHost = z.union([HostPattern, z.ipv4(), z.ipv6()]);

/** What a run may move through each limit (defaults: DEFAULT_EGRESS_LIMITS in egress-policy.ts). */
export const EgressLimitsEntry = z.strictObject({
  /** Connections one run may open in all. */
  connections: z.int().min(1).max(10_000).optional(),
  /** New connections one run may open per minute. */
  connectionsPerMinute: z.int().min(1).max(100_000).optional(),
  /** Bytes one run may receive, all connections together. */
  bytesIn: z.int().min(1_024).optional(),
  /** Bytes one run may send, all connections together. */
  bytesOut: z.int().min(1_024).optional(),
  /** Seconds a connection may carry nothing either way before it is closed (and a name or an address may take to answer). */
  idleSeconds: z.number().positive().max(3_600).optional(),
});

/**
 * `sandbox.egress` in org.config.json: where sandboxed commands may connect through org's egress guard. Without it a
 * sandbox has no network at all. Read into EgressRules by `egressRules` (egress-policy.ts).
 */
export const EgressEntry = z.strictObject({
  /** Hosts a command may reach (`*.example.com` for its subdomains). */
  allow: z.array(EgressHost).max(1_000).optional(),
  /** Hosts it may never reach; deny wins over allow and presets. */
  deny: z.array(EgressHost).max(1_000).optional(),
  /** Named host lists kept in org's code (EGRESS_PRESETS): npm, pypi, crates, go, debian. */
  presets: z.array(z.enum(PRESET_NAMES)).max(PRESET_NAMES.length).optional(),
  /** Ports a connection may go to (default 443 and 80). */
  ports: z.array(z.int().min(1).max(65_535)).min(1).max(100).optional(),
  /**
   * Ports a `CONNECT` (or SOCKS5 CONNECT) tunnel may go to (default 443): a tunnel is for TLS only, its first bytes a TLS
   * ClientHello; plain HTTP goes as a proxy request, so that the guard sees it.
   */
  tlsPorts: z.array(z.int().min(1).max(65_535)).min(1).max(100).optional(),
  /** A host on neither list: "ask" the person in a room (unattended work is refused), or "deny" (default). */
  unlisted: z.enum(["ask", "deny"]).optional(),
  limits: EgressLimitsEntry.optional(),
});
export type EgressEntry = z.infer<typeof EgressEntry>;
