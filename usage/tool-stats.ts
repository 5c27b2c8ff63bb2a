import { type CallFailure, judgesTool, type ToolCall } from "./tool-calls.ts";

/** Half-life of a call's weight in a tool's trust: a call a week old counts half as much as one now. */
export const TRUST_HALF_LIFE_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * A tool's trust: its recency-weighted success, Σ wᵢ·okᵢ / Σ wᵢ with wᵢ = 2^(−ageᵢ / 7 days), ageᵢ = now − tᵢ
 * (a call stamped after `now` counts as now). Between 0 and 1; undefined for a tool never called.
 */
export function toolTrust(calls: readonly Pick<ToolCall, "t" | "ok">[], now: number): number | undefined {
  let weights = 0;
  let successes = 0;
  for (const call of calls) {
    const weight = 2 ** (-Math.max(0, now - call.t) / TRUST_HALF_LIFE_MS);
    weights += weight;
    if (call.ok) successes += weight;
  }
  // Calls so old that every weight underflowed say nothing about the tool now.
  return weights > 0 ? successes / weights : undefined;
}

/** What `org tool stats` shows for one tool. */
export type ToolStats = {
  tool: string;
  /** Every call: ok, failed, refused by the input schema, cancelled. */
  calls: number;
  ok: number;
  /** Calls that failed on inputs the tool's schema accepted: the tool's own failures. */
  failed: number;
  failedBy: Partial<Record<CallFailure | "unknown", number>>;
  /** Calls the tool's input schema refused (the caller's mistake): not the tool's failures. */
  input: number;
  /** Calls their callers cut before they ended. */
  cancelled: number;
  /** ok / (ok + failed): the calls that judge the tool; undefined without any. */
  successRate?: number;
  /** Recency-weighted success (`toolTrust`); undefined without calls. */
  trust?: number;
  latencyMs: { mean: number; p50: number; p95: number; max: number; total: number };
  firstCall?: string;
  lastCall?: string;
};

function quantile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? 0;
}

/** The figures of one tool's calls. */
export function statsOf(tool: string, calls: readonly ToolCall[], now: number): ToolStats {
  const failedBy: ToolStats["failedBy"] = {};
  let ok = 0;
  let failed = 0;
  let total = 0;
  const notTheTools = { input: 0, cancelled: 0 };
  for (const call of calls) {
    total += call.ms;
    if (call.ok) ok += 1;
    else if (call.reason === "input" || call.reason === "cancelled") notTheTools[call.reason] += 1;
    else {
      const reason = call.reason ?? "unknown";
      failedBy[reason] = (failedBy[reason] ?? 0) + 1;
      failed += 1;
    }
  }
  const durations = calls.map((call) => call.ms).sort((a, b) => a - b);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const call of calls) {
    first = Math.min(first, call.t);
    last = Math.max(last, call.t);
  }
  const trust = toolTrust(
    calls.filter((call) => judgesTool(call)),
    now,
  );
  return {
    tool,
    calls: calls.length,
    ok,
    failed,
    failedBy,
    ...notTheTools,
    ...(ok + failed > 0 ? { successRate: ok / (ok + failed) } : {}),
    ...(trust !== undefined ? { trust } : {}),
    latencyMs: {
      mean: calls.length > 0 ? Math.round(total / calls.length) : 0,
      p50: quantile(durations, 0.5),
      p95: quantile(durations, 0.95),
      max: durations.at(-1) ?? 0,
      total,
    },
    ...(calls.length > 0 ? { firstCall: new Date(first).toISOString(), lastCall: new Date(last).toISOString() } : {}),
  };
}

/** Every tool's figures, by name; `names` adds tools without calls (shown with zero calls). */
export function toolStatsOf(calls: readonly ToolCall[], now: number, names: readonly string[] = []): ToolStats[] {
  const byTool = new Map<string, ToolCall[]>(names.map((name) => [name, []]));
  for (const call of calls) {
    const list = byTool.get(call.tool);
    if (list) list.push(call);
    else byTool.set(call.tool, [call]);
  }
  return [...byTool.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([tool, list]) => statsOf(tool, list, now));
}
