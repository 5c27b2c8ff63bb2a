import { EGRESS_PRESETS, type EgressRules } from "../config/egress-policy.ts";

/** What the rules say about one host and port, and the rule that said it (shown to the client and in the audit). */
export type EgressVerdict = { verdict: "allow" | "deny" | "ask"; rule: string };

/** Whether `host` (lower-case, no trailing dot, no brackets) matches `entry`: exactly, under a `*.` entry, or `*`. */
export function hostMatches(host: string, entry: string): boolean {
  return entry === "*" || entry === host || (entry.startsWith("*.") && host.endsWith(entry.slice(1)));
}

/** The host as the rules compare it: lower-case, without a trailing dot or IPv6 brackets. */
export function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/\.$/, "")
    .replace(/^\[|\]$/g, "");
}

/**
 * The rules' answer for `host:port`, in order: a port not allowed, the deny list (it wins), a raw IP address not listed
 * exactly, the allow list and the presets, then `unlisted`.
 */
export function egressVerdict(rules: EgressRules, host: string, port: number, isIpAddress: boolean): EgressVerdict {
  if (!rules.ports.includes(port)) return { verdict: "deny", rule: `port ${port} is not on sandbox.egress.ports (${rules.ports.join(", ")})` };
  const denied = rules.deny.find((entry) => hostMatches(host, entry));
  if (denied !== undefined) return { verdict: "deny", rule: `on sandbox.egress.deny (${denied})` };
  if (isIpAddress) {
    return rules.allow.includes(host)
      ? { verdict: "allow", rule: `on sandbox.egress.allow (${host})` }
      : { verdict: "deny", rule: "a raw IP address, not listed exactly on sandbox.egress.allow" };
  }
  const allowed = rules.allow.find((entry) => hostMatches(host, entry));
  if (allowed !== undefined) return { verdict: "allow", rule: `on sandbox.egress.allow (${allowed})` };
  const preset = rules.presets.find((name) => EGRESS_PRESETS[name].some((entry) => hostMatches(host, entry)));
  if (preset !== undefined) return { verdict: "allow", rule: `in sandbox.egress.presets (${preset})` };
  return rules.unlisted === "ask"
    ? { verdict: "ask", rule: "not on sandbox.egress.allow; asked" }
    : { verdict: "deny", rule: "not on sandbox.egress.allow" };
}
