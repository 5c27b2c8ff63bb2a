import { describe, expect, test } from "bun:test";
import type { ToolCall } from "./tool-calls.ts";
import { statsOf, TRUST_HALF_LIFE_MS, toolStatsOf, toolTrust } from "./tool-stats.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 25);
const call = (t: number, ok: boolean, ms = 10, tool = "a_tool"): ToolCall => ({ t, tool, ok, ms, ...(ok ? {} : { reason: "tool" as const }) });

describe("trust", () => {
  test("is the success weighted by 2^(−age / 7 days)", () => {
    expect(TRUST_HALF_LIFE_MS).toBe(7 * DAY);
    // ok now (weight 1), failed a week ago (weight ½): 1 / 1.5.
    expect(toolTrust([call(NOW, true), call(NOW - 7 * DAY, false)], NOW)).toBeCloseTo(2 / 3, 12);
    // ok two weeks ago (¼), failed now (1): ¼ / 1¼.
    expect(toolTrust([call(NOW - 14 * DAY, true), call(NOW, false)], NOW)).toBeCloseTo(0.2, 12);
    // The plain success rate would be 0.5 in both cases: recent calls weigh more.
    expect(toolTrust([call(NOW - 3.5 * DAY, true)], NOW)).toBe(1);
  });

  test("a call stamped after now counts as now; no calls, no trust", () => {
    expect(toolTrust([call(NOW + 30 * DAY, false), call(NOW, true)], NOW)).toBeCloseTo(0.5, 12);
    expect(toolTrust([], NOW)).toBeUndefined();
  });
});

describe("a tool's figures", () => {
  test("calls, ok, failed by reason, latency and trust", () => {
    const calls = [
      call(NOW - DAY, true, 10),
      call(NOW - DAY, true, 30),
      { ...call(NOW, false, 200), reason: "timeout" as const },
      call(NOW, false, 20),
    ];
    const stats = statsOf("a_tool", calls, NOW);
    expect(stats).toMatchObject({ tool: "a_tool", calls: 4, ok: 2, failed: 2, failedBy: { timeout: 1, tool: 1 }, successRate: 0.5 });
    expect(stats.latencyMs).toEqual({ mean: 65, p50: 20, p95: 200, max: 200, total: 260 });
    expect(stats.trust).toBeCloseTo(toolTrust(calls, NOW) ?? Number.NaN, 12);
    expect(stats.lastCall).toBe(new Date(NOW).toISOString());
  });

  test("every tool by name; a named tool without calls shows zero", () => {
    const stats = toolStatsOf([call(NOW, true, 5, "b_tool"), call(NOW, false, 5, "a_tool")], NOW, ["c_tool"]);
    expect(stats.map((entry) => [entry.tool, entry.calls])).toEqual([
      ["a_tool", 1],
      ["b_tool", 1],
      ["c_tool", 0],
    ]);
    expect(stats[2]?.trust).toBeUndefined();
  });
});
