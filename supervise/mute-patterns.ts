import { PATTERNS } from "./supervise-check.ts";
import type { SupervisorState } from "./supervisor-state.ts";

/** Why `pattern` is nothing `org supervise mute` can silence, or undefined when it is a check, an incident, its key or a signature. */
export function knownMutePattern(state: SupervisorState, pattern: string): string | undefined {
  if (PATTERNS.some((name) => name === pattern) || pattern === "novel" || pattern === "heartbeat") return undefined;
  if (state.incident(pattern)) return undefined;
  if (state.db.query("SELECT 1 FROM signatures WHERE id = ?").get(pattern)) return undefined;
  if (state.db.query("SELECT 1 FROM incidents WHERE key = ? OR pattern || ':' || key = ?").get(pattern, pattern)) return undefined;
  return `nothing to mute named '${pattern}': give a check (${[...PATTERNS, "novel", "heartbeat"].join(", ")}), an incident id, or a signature id ('org supervise status' shows them)`;
}
