import { describe, expect, test } from "bun:test";
import { restartDecision } from "./current-check.ts";

const settings = { backoff: 10_000, maxRestarts: 3, window: 600_000 };
const at = (seconds: number) => seconds * 1000;

describe("pattern 1: restarts of current back off, then a promotion is rolled back or the supervisor stops trying", () => {
  test("the first restart at once, each further one after twice the wait before it", () => {
    expect(restartDecision({ attempts: [], now: at(100), settings })).toEqual({ kind: "restart", attempt: 1, waitedMs: 0 });
    expect(restartDecision({ attempts: [at(100)], now: at(105), settings })).toEqual({ kind: "wait", attempt: 2, untilMs: at(110) });
    expect(restartDecision({ attempts: [at(100)], now: at(111), settings })).toEqual({ kind: "restart", attempt: 2, waitedMs: at(11) });
    expect(restartDecision({ attempts: [at(100), at(111)], now: at(125), settings })).toEqual({ kind: "wait", attempt: 3, untilMs: at(131) });
    expect(restartDecision({ attempts: [at(100), at(111)], now: at(131), settings })).toEqual({ kind: "restart", attempt: 3, waitedMs: at(20) });
  });

  test("after maxRestarts in the window: the promotion the failures began after is rolled back", () => {
    const attempts = [at(100), at(111), at(131)];
    expect(restartDecision({ attempts, now: at(200), settings, promotion: { tag: "promote/20261123T100000Z", at: at(90) } })).toEqual({
      kind: "rollback",
      tag: "promote/20261123T100000Z",
    });
  });

  test("failures that began before the last promotion, no promotion at all, or a rollback that failed: it stops trying and says why", () => {
    const attempts = [at(100), at(111), at(131)];
    const before = restartDecision({ attempts, now: at(200), settings, promotion: { tag: "promote/20261123T100500Z", at: at(105) } });
    expect(before.kind).toBe("give-up");
    expect(before.kind === "give-up" && before.reason).toContain("began before the last promotion (promote/20261123T100500Z)");
    const none = restartDecision({ attempts, now: at(200), settings });
    expect(none.kind === "give-up" && none.reason).toContain("there is no promotion to roll back");
    // It says when it tries again: as soon as the oldest of the restarts leaves the window, and not before.
    expect(none.kind === "give-up" && none.reason).toContain(
      `stopped trying until ${new Date(at(700)).toISOString()}, when the oldest of those restarts leaves the 10m window`,
    );
    const inWindow = (now: number) => attempts.filter((attempt) => attempt >= now - settings.window);
    expect(restartDecision({ attempts: inWindow(at(699)), now: at(699), settings }).kind).toBe("give-up");
    expect(restartDecision({ attempts: inWindow(at(701)), now: at(701), settings }).kind).toBe("restart");
    const failed = restartDecision({ attempts, now: at(200), settings, promotion: { tag: "promote/20261123T100000Z", at: at(90) }, rollbackFailed: true });
    expect(failed.kind === "give-up" && failed.reason).toContain("rolling back promote/20261123T100000Z failed");
  });
});
