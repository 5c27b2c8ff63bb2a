import { z } from "zod";
import { HostPattern } from "./web-settings.ts";

const PRESET_NAMES = ["npm", "pypi", "crates", "go", "debian"] as const;
export type EgressPresetName = (typeof PRESET_NAMES)[number];

/**
 * The hosts each preset lets a sandboxed command reach: the registries a package manager downloads from. Kept in
 * org's code, never read from a config, so a preset's name always means these hosts (`org config status` shows them).
 */
export const EGRESS_PRESETS: Readonly<Record<EgressPresetName, readonly string[]>> = {
  npm: ["registry.npmjs.org", "registry.yarnpkg.com"],
  pypi: ["pypi.org", "files.pythonhosted.org"],
  crates: ["crates.io", "index.crates.io", "static.crates.io"],
  go: ["proxy.golang.org", "sum.golang.org"],
  debian: ["deb.debian.org", "security.debian.org"],
};

/** A host a sandboxed command may be let through to: a name, `*.` and a domain, or an IP address (for a CONNECT to it). */
export const EgressHost = z.union([HostPattern, z.ipv4(), z.ipv6()]);

/** What a run may reach through each limit; each has a default a package install fits in. */
export const EgressLimitsEntry = z.strictObject({
  /** Connections one run may open in all. */
  connections: z.int().min(1).max(10_000).optional(),
  /** New connections one run may open per minute. */
  connectionsPerMinute: z.int().min(1).max(100_000).optional(),
  /** Bytes one run may receive, all connections together. */
  bytesIn: z.int().min(1_024).optional(),
  /** Bytes one run may send, all connections together. */
  bytesOut: z.int().min(1_024).optional(),
  /** Seconds a connection may carry nothing either way before it is closed. */
  idleSeconds: z.number().positive().max(3_600).optional(),
});

/**
 * `sandbox.egress` in org.config.json: where sandboxed commands may connect through org's egress guard. Without it a
 * sandbox has no network at all.
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
  /** A host on neither list: "ask" the person in a room (unattended work is refused), or "deny" (default). */
  unlisted: z.enum(["ask", "deny"]).optional(),
  limits: EgressLimitsEntry.optional(),
});
export type EgressEntry = z.infer<typeof EgressEntry>;

export type EgressLimits = Required<z.infer<typeof EgressLimitsEntry>>;

export const DEFAULT_EGRESS_LIMITS: EgressLimits = Object.freeze({
  connections: 1_000,
  connectionsPerMinute: 600,
  bytesIn: 1024 ** 3,
  bytesOut: 1024 ** 3,
  idleSeconds: 60,
});

/** The rules the egress guard applies, defaults filled in: the presets' hosts are listed in `presetHosts`. */
export type EgressRules = Readonly<{
  allow: readonly string[];
  deny: readonly string[];
  presets: readonly EgressPresetName[];
  ports: readonly number[];
  unlisted: "ask" | "deny";
  limits: EgressLimits;
}>;

/** `sandbox.egress` with its defaults. */
export function egressRules(entry: EgressEntry): EgressRules {
  return Object.freeze({
    allow: (entry.allow ?? []).map(lowerHost),
    deny: (entry.deny ?? []).map(lowerHost),
    presets: entry.presets ?? [],
    ports: entry.ports ?? [443, 80],
    unlisted: entry.unlisted ?? "deny",
    limits: Object.freeze({ ...DEFAULT_EGRESS_LIMITS, ...entry.limits }),
  });
}

/** Whether a `sandbox.egress` can let anything out (what waits for `org config trust`). */
export function egressReachesOut(entry: EgressEntry): boolean {
  return (entry.allow ?? []).length > 0 || (entry.presets ?? []).length > 0 || entry.unlisted === "ask";
}

function lowerHost(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, "");
}
