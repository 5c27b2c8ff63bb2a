import { expect, test } from "bun:test";
import { Budget, BudgetExceededError } from "./budget.ts";

test("limits.tokensPerDay: the day's use is read again after rereadMs and when the UTC day turns, this budget's own counted between reads", () => {
  let now = Date.parse("2026-11-29T23:59:00Z");
  let others = 900;
  let reads = 0;
  const budget = new Budget({
    maxSessionTokens: 1_000_000,
    daily: {
      limit: 1000,
      usedToday: () => {
        reads += 1;
        return others;
      },
      now: () => now,
      rereadMs: 30_000,
    },
  });
  budget.checkTokens();
  budget.recordUsage({ promptTokens: 60, completionTokens: 0 });
  // 900 read, 60 of its own since: 960 of 1000, with no second read.
  expect(budget.usedToday()).toBe(960);
  expect(reads).toBe(1);
  budget.recordUsage({ promptTokens: 40, completionTokens: 0 });
  const spent = (() => {
    try {
      budget.checkTokens();
    } catch (error) {
      return error;
    }
  })();
  expect(spent).toBeInstanceOf(BudgetExceededError);
  expect((spent as BudgetExceededError).budget).toBe("day-tokens");
  expect((spent as BudgetExceededError).message).toContain("(1000 of 1000 tokens since 00:00 UTC");
  // Another session's transcripts grew meanwhile: seen at the next read.
  others = 500;
  now += 30_000;
  expect(budget.usedToday()).toBe(500);
  expect(reads).toBe(2);
  // A new UTC day: read at once.
  others = 0;
  now += 60_000;
  expect(budget.usedToday()).toBe(0);
  expect(reads).toBe(3);
  budget.checkTokens();
});

test("without a daily limit the day is not read", () => {
  const budget = new Budget({ maxSessionTokens: 10 });
  expect(budget.usedToday()).toBeUndefined();
  budget.checkTokens();
});
