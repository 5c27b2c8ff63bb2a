import { afterAll, expect, test } from "bun:test";
import { pullAndLand } from "../cycle/land-offers.ts";
import { promote } from "../cycle/promote.ts";
import { rollback } from "../cycle/rollback.ts";
import { publishOffer } from "../share/publish-offer.ts";
import { promoteFixture, type ShareMachine, shareMachines, trust } from "../testing/share-machines.ts";
import { superviseFixture, webhookSink } from "../testing/supervise-fixture.ts";
import { writePassingReport } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { SHARE_EVENT, sharePullWhenDue } from "./share-pull.ts";

const sink = webhookSink();
afterAll(() => sink.stop());
const MINUTE = 60_000;

// The gate itself is cycle/land-offers.test.ts's: here bob's judge passes what lands (a passing report for its head,
// then `promote`), so the test is about the supervisor's clock, what it says and what it sends.
const passingJudge =
  (bob: ShareMachine): Parameters<typeof pullAndLand>[0]["judge"] =>
  async (branch, shouldPromote, signal) => {
    const head = gitSync(bob.dir, ["rev-parse", branch]).trim();
    writePassingReport(bob.dir, head, branch);
    const promotion = shouldPromote ? await promote({ ...bob.refChange(), signal }, { branch, restart: false }) : undefined;
    return { ok: true, branch, stages: [], verdict: "pass", ...(promotion ? { promotion } : {}) };
  };

test("share.pullEvery: the supervisor pulls when due and not before; a teammate's recall is rolled back, said and sent", async () => {
  using world = shareMachines(["alice", "bob"]);
  const [alice, bob] = world.machines as [ShareMachine, ShareMachine];
  trust(bob, alice);
  await promoteFixture(alice, WORD_COUNT, "cand/20261129T080000Z");
  const offer = await publishOffer(alice.access, "word_count");
  using fixture = superviseFixture({ start: Date.parse("2026-11-29T09:00:00Z") });
  fixture.configure({ share: { pullEvery: "10m", autoPromote: true }, supervise: { webhook: sink.url, quietMinutes: 0 } });
  let pulls = 0;
  fixture.context.pullShare = (context) => {
    pulls += 1;
    const judge = passingJudge(bob);
    return pullAndLand({ access: bob.access, judge, autoPromote: true, rollbackContext: bob.refChange, signal: context.signal });
  };
  const bobTools = () => gitSync(bob.dir, ["ls-tree", "--name-only", "main", "tools/generated/"]).trim();

  const first = await sharePullWhenDue(fixture.context);
  expect(first).toMatchObject({ remote: world.remote, states: { promoted: 1 }, recalls: [] });
  expect(bobTools()).toBe("tools/generated/word_count");

  await rollback(alice.refChange(), { restart: false, target: { tool: "word_count" }, reason: "miscounts tabs" });
  fixture.advance(9 * MINUTE);
  expect(await sharePullWhenDue(fixture.context)).toBeUndefined();
  expect(pulls).toBe(1);
  expect(bobTools()).toBe("tools/generated/word_count");

  sink.received.length = 0;
  fixture.advance(MINUTE);
  const second = await sharePullWhenDue(fixture.context);
  expect(second?.recalls).toMatchObject([{ tool: "word_count", offer: offer.id, reason: "miscounts tabs" }]);
  expect(second?.recalls[0]?.rolledBack).toMatch(/^rollback\/\d{8}T\d{6}Z$/);
  expect(bobTools()).toBe("");
  const said = `share: word_count recalled by the team (offer ${offer.id}): "miscounts tabs"; rolled back here`;
  expect(fixture.lines.some((line) => line.startsWith(said))).toBe(true);
  expect(sink.received.map((message) => message.kind)).toEqual(["share"]);
  expect(sink.received[0]?.text).toStartWith(`[org supervise] ${said}`);
  const events = fixture.context.state.eventsBetween(0, Date.parse("2026-11-30T00:00:00Z")).filter((event) => event.kind === SHARE_EVENT);
  expect(events).toHaveLength(3);

  // A remote that fails is said, and the pull is tried at the next due time, not the next round.
  fixture.context.pullShare = () => Promise.reject(new Error("the remote hung up"));
  fixture.advance(10 * MINUTE);
  expect(await sharePullWhenDue(fixture.context)).toMatchObject({ failed: "the remote hung up", recalls: [] });
  expect(fixture.lines.at(-1)).toBe("share: the pull failed: the remote hung up; tried again in 10 min");
  fixture.advance(MINUTE);
  expect(await sharePullWhenDue(fixture.context)).toBeUndefined();
}, 120_000);
