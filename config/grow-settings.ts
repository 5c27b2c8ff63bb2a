import { z } from "zod";
import { Duration } from "./duration.ts";

/**
 * A window of a tool's calls: the most recent `calls` calls, none older than `hours` before the window's end.
 * A bare number is a count of calls with the default span of a day.
 */
export const GrowWindow = z
  .union([
    z.int().min(1).max(100_000),
    z.strictObject({
      calls: z.int().min(1).max(100_000).default(100),
      hours: z
        .number()
        .positive()
        .max(24 * 365)
        .default(24),
    }),
  ])
  .transform((value) => (typeof value === "number" ? { calls: value, hours: 24 } : value));
export type GrowWindow = z.output<typeof GrowWindow>;

/** `org grow`'s settings (`grow` in org.config.json); every field has a default. */
export const GrowSettings = z.strictObject({
  /** The window a promoted tool's success rate is judged over: 100 calls or a day by default. */
  window: GrowWindow.default({ calls: 100, hours: 24 }),
  /** A promoted tool whose failures in its last window pass this share (0 to 1) is rolled back. */
  maxFailureRate: z.number().min(0).max(1).default(0.25),
  /** Days without a call after which a promoted tool is proposed for removal; absent: never. */
  pruneUnusedDays: z.number().positive().max(3650).optional(),
  /** Whether `org grow` promotes the candidates that pass the gate (and removes idle tools); else they wait for `org promote`. */
  autoPromote: z.boolean().default(false),
  /** How long `org grow` (without --once), `ops/grow.sh` and `serve --grow-every` wait between runs: "1h", "30m", or seconds. */
  every: Duration.default(3_600_000),
  /** The wall time one run may spend, in minutes, unless `--budget-minutes` says otherwise. */
  budgetMinutes: z
    .number()
    .positive()
    .max(24 * 60)
    .default(30),
  /** Tools one run may build, unless `--max-tools` says otherwise. */
  maxTools: z.int().min(0).max(100).default(3),
  /** Model tokens (prompt and completion) one run may spend: noticing, merging and the builds, counted as they stream. */
  maxTokens: z.int().min(1).max(1_000_000_000).default(500_000),
  /** The model that hears needs in what was said and judges whether two needs are one (on the toolsmith's server); default: the toolsmith's. */
  model: z.string().trim().min(1).max(200).optional(),
  /** Sessions a need no person asked for (only a model's or a tool's words) must be seen in before a run builds it. */
  confirmSessions: z.int().min(1).max(1000).default(2),
});
export type GrowSettings = z.output<typeof GrowSettings>;
