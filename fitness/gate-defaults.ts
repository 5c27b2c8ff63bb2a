import { join } from "node:path";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import type { FitnessRequest } from "./run-fitness.ts";
import { processEnvironment } from "../config/environment.ts";

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

/**
 * The gate as `tool new --promote` and `org grow` run it on `repoDir`'s candidates: the protected core held, the
 * tests with this bun, the scenarios of `repoDir` at the defaults (with `token` for instances that ask one).
 */
export function defaultGateOptions(repoDir: string, token?: string): Pick<FitnessRequest, "allowCore" | "bun" | "testsTimeoutMs" | "scenarios"> {
  return {
    allowCore: false,
    bun: process.execPath,
    testsTimeoutMs: GATE_DEFAULTS.testsTimeoutS * 1000,
    scenarios: {
      dir: join(repoDir, "fitness", "scenarios"),
      runs: GATE_DEFAULTS.runs,
      marginRatio: GATE_DEFAULTS.marginPercent / 100,
      marginMs: GATE_DEFAULTS.marginMs,
      ...(token !== undefined ? { token } : {}),
      timeoutMs: GATE_DEFAULTS.scenarioTimeoutMs,
    },
  };
}

/** The gate's thresholds: the toolsmith settings of `repoDir`'s own org.config.json, never the directory the gate runs in. */
export function gateThresholds(repoDir: string): ToolsmithSettings {
  return loadOrgConfig(join(repoDir, CONFIG_FILE_NAME), processEnvironment(), { checkoutDir: repoDir }).toolsmith;
}
