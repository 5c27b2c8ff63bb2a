import { describe, expect, test } from "bun:test";
import { OrgConfigError, parseOrgConfigText } from "./org-config.ts";
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
  test("defaults: a window of 100 calls or a day, failures above a quarter, no pruning", () => {
    expect(GrowSettings.parse({})).toEqual({ window: { calls: 100, hours: 24 }, maxFailureRate: 0.25 });
  });

  test("a window is a number of calls (a day at most) or {calls, hours}", () => {
    expect(parseOrgConfigText('{"grow": {"window": 20}}').grow?.window).toEqual({ calls: 20, hours: 24 });
    expect(parseOrgConfigText('{"grow": {"window": {"hours": 6}}}').grow?.window).toEqual({ calls: 100, hours: 6 });
    expect(parseOrgConfigText('{"grow": {"pruneUnusedDays": 30, "maxFailureRate": 0.2}}').grow).toMatchObject({ pruneUnusedDays: 30, maxFailureRate: 0.2 });
  });

  test("a wrong value names its line and key and what to give", () => {
    expect(refusal('{\n  "grow": {\n    "maxFailureRate": 20\n  }\n}')).toContain("line 3, key grow.maxFailureRate");
    expect(refusal('{"grow": {"windows": 10}}')).toMatch(/remove "windows" .*known keys: .*window, maxFailureRate, pruneUnusedDays/);
  });
});
