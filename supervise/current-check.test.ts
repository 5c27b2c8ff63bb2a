import { afterAll, describe, expect, test } from "bun:test";
import { superviseFixture, webhookSink } from "../testing/supervise-fixture.ts";
import { currentFinding, restartDecision, restartDetail } from "./current-check.ts";
import { CURRENT_ATTEMPTS } from "./current-fixes.ts";
import type { Check, SuperviseContext } from "./supervise-check.ts";
import { superviseRound } from "./supervise-round.ts";

const sink = webhookSink();
afterAll(() => sink.stop());
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
    const failed = restartDecision({
      attempts,
      now: at(200),
      settings,
      promotion: { tag: "promote/20261123T100000Z", at: at(90) },
      rollbackFailed: true,
    });
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

  test("a failed restart waiting out its backoff is no give-up; the give-up that follows is said, once, as needing a person", async () => {
    using fixture = superviseFixture({ start: at(1_000) });
    // Restarts are proposed, not applied: the test plays each one failing, as restart-current records a failure.
    fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 0, backoff: "10s", maxRestarts: 2, window: "10m", autoFix: [] } });
    const { context } = fixture;
    // The current check with its pane read as dead: its decision (restart, wait, give up) is the real one.
    const down: Check = {
      name: "current",
      run: async (given) => ({
        state: "fail",
        detail: "current is down",
        findings: [await currentFinding(given, "its process exited with status 1")],
      }),
    };
    const restartFails = (ctx: SuperviseContext) => {
      const fix = ctx.state.recentFixes(0).find((row) => row.action === "restart-current" && row.state === "proposed");
      if (!fix) throw new Error("no restart-current was proposed");
      ctx.state.recordAttempt(CURRENT_ATTEMPTS.kind, CURRENT_ATTEMPTS.key, ctx.now(), "restart");
      ctx.state.moveFix(fix.id, "applied", `applying: ${fix.detail}`, ctx.now());
      ctx.state.moveFix(fix.id, "failed", "current did not come back: the server exited with code 1 before it was healthy", ctx.now());
    };
    const said = () => sink.received.map((message) => message.text);

    await superviseRound(context, [down]);
    restartFails(context);
    fixture.advance(at(1));
    // Restart 2 waits until 10 s after the first: a wait, not the end of the tries.
    await superviseRound(context, [down]);
    expect(context.state.openIncidentOf("current", "current")?.detail).toContain("restart 2 waits until");
    expect(said().filter((text) => text.includes("needs a person"))).toEqual([]);
    fixture.advance(at(10));
    await superviseRound(context, [down]);
    restartFails(context);
    fixture.advance(at(1));
    await superviseRound(context, [down]);
    fixture.advance(at(1));
    await superviseRound(context, [down]);
    const incident = context.state.openIncidentOf("current", "current")?.id ?? "";
    expect(said().filter((text) => text.includes("needs a person"))).toEqual([
      `[org supervise] needs a person ${incident}: current is down: 2 restarts in 10m (supervise.maxRestarts 2) did not keep it up and there is no promotion to roll back; stopped trying until ${new Date(at(1_600)).toISOString()}, when the oldest of those restarts leaves the 10m window`,
    ]);
  });
});
