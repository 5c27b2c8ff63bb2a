import type { EgressEntry } from "./egress-settings.ts";

// What `sandbox.egress` means once read, without the schema (egress-settings.ts): every sandboxed run that may reach
// the network loads this, and `org sandbox run` must not load zod to start its command.

/** The presets' names, in the order `org config status` shows them. */
export const PRESET_NAMES = ["npm", "pypi", "crates", "go", "debian"] as const;
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

/** What a run may move through each limit; each has a default a package install fits in. */
export type EgressLimits = {
  connections: number;
  connectionsPerMinute: number;
  bytesIn: number;
  bytesOut: number;
  idleSeconds: number;
};

export const DEFAULT_EGRESS_LIMITS: EgressLimits = Object.freeze({
  connections: 1_000,
  connectionsPerMinute: 600,
  bytesIn: 1024 ** 3,
  bytesOut: 1024 ** 3,
  idleSeconds: 60,
});

/** The rules the egress guard applies, defaults filled in. */
export type EgressRules = Readonly<{
  allow: readonly string[];
  deny: readonly string[];
  presets: readonly EgressPresetName[];
  ports: readonly number[];
  /** Ports a tunnel (CONNECT, SOCKS5) may go to: TLS only, plain HTTP goes as a proxy request the guard reads. */
  tlsPorts: readonly number[];
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
    tlsPorts: entry.tlsPorts ?? [443],
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
