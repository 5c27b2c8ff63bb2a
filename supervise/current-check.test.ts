import { describe, expect, test } from "bun:test";
import { restartDecision, restartDetail } from "./current-check.ts";

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

  test("a crash loop's restart records count on from when current was last healthy, never all 'restart 3 of 3'; a retry comes when the oldest leaves the window", () => {
    const healthyAt = at(50);
    const made: number[] = [];
    const details: string[] = [];
    let gaveUp = "";
    // Current dies again at once after each restart: a round every second for 25 minutes.
    for (let now = at(100); now <= at(1600); now += 1000) {
      const decision = restartDecision({ attempts: made.filter((time) => time >= now - settings.window), now, settings });
      if (decision.kind === "give-up" && !gaveUp) gaveUp = decision.reason;
      if (decision.kind !== "restart") continue;
      details.push(restartDetail(decision, { number: made.filter((time) => time >= healthyAt).length + 1, healthyAt }, settings));
      made.push(now);
    }
    const since = `since current was last healthy (${new Date(healthyAt).toISOString()})`;
    expect(details.slice(0, 5)).toEqual([
      `restart 1 ${since}, at once; 1 of supervise.maxRestarts 3 within 10m`,
      `restart 2 ${since}, 10s after the one before (backoff 10s); 2 of supervise.maxRestarts 3 within 10m`,
      `restart 3 ${since}, 20s after the one before (backoff 20s); 3 of supervise.maxRestarts 3 within 10m`,
      // The oldest (at 100 s) leaves the window after 700 s: tried again at the first round after it, as the give-up said.
      `restart 4 ${since}, 9m31s after the one before (backoff 20s); 3 of supervise.maxRestarts 3 within 10m`,
      `restart 5 ${since}, 20s after the one before (backoff 20s); 3 of supervise.maxRestarts 3 within 10m`,
    ]);
    expect(made.slice(0, 5)).toEqual([at(100), at(110), at(130), at(701), at(721)]);
    expect(gaveUp).toContain(`stopped trying until ${new Date(at(700)).toISOString()}, when the oldest of those restarts leaves the 10m window`);
    // Every record has a number of its own.
    const numbers = details.map((detail) => Number(/^restart (\d+) /.exec(detail)?.[1]));
    expect(numbers).toEqual(numbers.map((_, index) => index + 1));
  });
});
