/**
 * What an incident or a mute names as its pattern: each check's name in the order a round runs them
 * (`SUPERVISE_CHECKS`, whose names supervise-checks.test.ts holds to these), and the daily heartbeat's. Kept apart so
 * `org supervise mute` and `unmute` read the names without loading every check's code.
 */
export const PATTERN_NAMES: readonly string[] = [
  "current",
  "model-server",
  "disk",
  "locks",
  "leftovers",
  "sandbox",
  "databases",
  "mcp",
  "tool-health",
  "logs",
  "novel",
  "heartbeat",
];
