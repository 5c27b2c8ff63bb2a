// `npm run bench:share`: what a pull costs as a team's remote fills. Alice publishes N offers of one tool (each signed
// and pushed as `org share publish` does); bob, who trusts her, pulls them all (count, quarantined fetch, every
// signature and hash checked, states written) and lists them; then pulls again with nothing new. No gate runs here:
// judging one offer is a gate run like any candidate's (cycle/land-offers.test.ts).
import { readShareState } from "../share/offer-state.ts";
import { publishOffer } from "../share/publish-offer.ts";
import { pullOffers } from "../share/pull-offers.ts";
import { promoteFixture, type ShareMachine, shareMachines, trust } from "../testing/share-machines.ts";
import { WORD_COUNT } from "../testing/toolsmith-fixtures.ts";

const OFFERS = Number(process.argv[2] ?? 200);

const world = shareMachines(["alice", "bob"]);
try {
  const [alice, bob] = world.machines as [ShareMachine, ShareMachine];
  await promoteFixture(alice, WORD_COUNT, "cand/20261129T070000Z");
  trust(bob, alice);
  let started = performance.now();
  for (let offer = 0; offer < OFFERS; offer += 1) await publishOffer(alice.access, "word_count");
  const publishMs = performance.now() - started;
  started = performance.now();
  const pulled = await pullOffers(bob.access);
  const pullMs = performance.now() - started;
  started = performance.now();
  const listed = Object.values(readShareState(bob.access.home).offers).sort((a, b) => a.id.localeCompare(b.id));
  const listMs = performance.now() - started;
  started = performance.now();
  const again = await pullOffers(bob.access);
  const againMs = performance.now() - started;
  console.log(`offers: ${OFFERS}, verified: ${pulled.landable.length}, listed: ${listed.length}`);
  console.log(`publish: ${(publishMs / OFFERS).toFixed(1)} ms an offer (${(publishMs / 1000).toFixed(2)} s)`);
  console.log(`pull: ${pullMs.toFixed(0)} ms (${(pullMs / OFFERS).toFixed(2)} ms an offer); list: ${listMs.toFixed(1)} ms`);
  console.log(`pull again (${again.fresh.length} new; the ${again.landable.length} not landed yet checked again): ${againMs.toFixed(0)} ms`);
} finally {
  world[Symbol.dispose]();
}
