/** The gate's settings when nobody gives others: `org fitness` without flags, and `tool new --promote`. */
export const GATE_DEFAULTS = {
  /** Runs of each scenario on each instance; the median counts. */
  runs: 3,
  /** How much slower than current a scenario may be, in percent … */
  marginPercent: 50,
  /** … plus this many milliseconds. */
  marginMs: 200,
  testsTimeoutS: 300,
  scenarioTimeoutMs: 120_000,
} as const;
