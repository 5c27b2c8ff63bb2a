import { describe, expect, test } from "bun:test";
import { OrgConfigError } from "./org-config-error.ts";
import { parseOrgConfigText } from "./parse-org-config-text.ts";
import { GrowSettings } from "./grow-settings.ts";

const refusal = (text: string): string => {
  try {
    parseOrgConfigText(text);
  } catch (error) {
    expect(error).toBeInstanceOf(OrgConfigError);
    return (error as Error).message;
  }
  throw new Error("the config was accepted");
};

describe("grow settings in org.config.json", () => {
  test("defaults: a window of 100 calls or a day, failures above a quarter, no pruning, no promotion, a run an hour", () => {
    expect(GrowSettings.parse({})).toEqual({
      window: { calls: 100, hours: 24 },
      maxFailureRate: 0.25,
      autoPromote: false,
      every: 3_600_000,
      budgetMinutes: 30,
      maxTools: 3,
      maxTokens: 500_000,
      confirmSessions: 2,
    });
  });

  test("grow.every is a duration: text such as 1h30m, or seconds", () => {
    expect(parseOrgConfigText('{"grow": {"every": "1h30m"}}').grow?.every).toBe(5_400_000);
    expect(parseOrgConfigText('{"grow": {"every": "45m", "autoPromote": true}}').grow).toMatchObject({ every: 2_700_000, autoPromote: true });
    expect(parseOrgConfigText('{"grow": {"every": 90}}').grow?.every).toBe(90_000);
    expect(refusal('{"grow": {"every": "soon"}}')).toContain('"soon" is not a duration');
    expect(refusal('{"grow": {"every": "0s"}}')).toContain("is not a duration from 1s to 365d");
  });

  test("a window is a number of calls (a day at most) or {calls, hours}", () => {
    expect(parseOrgConfigText('{"grow": {"window": 20}}').grow?.window).toEqual({ calls: 20, hours: 24 });
    expect(parseOrgConfigText('{"grow": {"window": {"hours": 6}}}').grow?.window).toEqual({ calls: 100, hours: 6 });
    expect(parseOrgConfigText('{"grow": {"pruneUnusedDays": 30, "maxFailureRate": 0.2}}').grow).toMatchObject({
      pruneUnusedDays: 30,
      maxFailureRate: 0.2,
    });
  });

  test("a wrong value names its line and key and what to give", () => {
    expect(refusal('{\n  "grow": {\n    "maxFailureRate": 20\n  }\n}')).toContain("line 3, key grow.maxFailureRate");
    expect(refusal('{"grow": {"windows": 10}}')).toMatch(
      /remove "windows" .*known keys: .*window, maxFailureRate, pruneUnusedDays, autoPromote, every/,
    );
  });
});
