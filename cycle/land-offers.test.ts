import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { readShareState } from "../share/offer-state.ts";
import { publishOffer } from "../share/publish-offer.ts";
import { ShareSetupError } from "../share/share-home.ts";
import { toolOrigin } from "../share/tool-origin.ts";
import { promoteFixture, type ShareMachine, shareMachines, trust } from "../testing/share-machines.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { CLAMP, SLUGIFY, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { inProcessOfferJudge, pullAndLand, renameOffer } from "./land-offers.ts";
import { promote } from "./promote.ts";
import { rollback } from "./rollback.ts";

// Three machines and a bare remote: alice's promoted tool is offered, and each receiving machine's own gate (the real
// one, against two in-process serves of its checkout) judges it before anything lands there.
let world: ReturnType<typeof shareMachines>;
let config: OrgConfig;

beforeAll(() => {
  world = shareMachines(["alice", "bob", "carol"]);
  // The demo's config names built-in tools only; its own folder stands for the checkout.
  const demo = join(import.meta.dir, "..", "demo");
  config = loadOrgConfig(
    join(demo, "org.config.json"),
    { ...process.env, OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "scripted" },
    { checkoutDir: demo },
  );
});
afterAll(() => world?.[Symbol.dispose]());

function pull(machine: ShareMachine, autoPromote: boolean, judgeConfig = config) {
  const lines: string[] = [];
  const judge = inProcessOfferJudge({
    ...testSandboxAccess(),
    config: judgeConfig,
    access: machine.access,
    workspaceDir: join(world.root, `${machine.name}-workspace`),
  });
  const report = pullAndLand({
    access: machine.access,
    judge,
    autoPromote,
    rollbackContext: machine.refChange,
    onLine: (line) => lines.push(line),
    signal: AbortSignal.timeout(120_000),
  });
  return report.then((value) => ({ ...value, lines }));
}

test("alice offers, bob's gate judges and promotes it (autoPromote), carol's passes it and waits; alice's rollback recalls it from bob", async () => {
  const [alice, bob, carol] = world.machines as [ShareMachine, ShareMachine, ShareMachine];
  await promoteFixture(alice, WORD_COUNT, "cand/20261129T090000Z");
  const offer = await publishOffer(alice.access, "word_count", { machine: "alice-desk" });
  trust(bob, alice);
  trust(carol, alice);

  const atBob = await pull(bob, true);
  expect(atBob.offers).toMatchObject([{ id: offer.id, state: "promoted", signer: "alice" }]);
  expect(atBob.lines[0]).toMatch(new RegExp(`^offer ${offer.id} of word_count by alice: landed as cand/\\d{8}T\\d{6}Z; judging it`));
  const branch = atBob.offers[0]?.branch ?? "";
  // The candidate carries the offer in its trailers, and main merged exactly that commit after bob's own gate passed it.
  const message = gitSync(bob.dir, ["log", "-1", "--format=%B", branch]);
  expect(message).toContain(`Org-Offer: ${offer.id}\n`);
  expect(message).toMatch(/^Org-Offer-Signer: alice SHA256:\S+$/m);
  expect(gitSync(bob.dir, ["rev-parse", "main^2"]).trim()).toBe(gitSync(bob.dir, ["rev-parse", branch]).trim());
  expect(existsSync(join(bob.dir, ".org", "fitness", gitSync(bob.dir, ["rev-parse", branch]).trim()))).toBe(true);
  expect(gitSync(bob.dir, ["rev-parse", "main:tools/generated/word_count"]).trim()).toBe(
    gitSync(alice.dir, ["rev-parse", "main:tools/generated/word_count"]).trim(),
  );
  expect(await toolOrigin(bob.access.git, "word_count")).toMatchObject({ offer: offer.id, signer: "alice", offerCommit: offer.commit });
  // Bob cannot offer it again as his own: it would lose who built it, and alice's recall would not reach it.
  const reoffered = await publishOffer(bob.access, "word_count").catch((error: unknown) => error);
  expect(reoffered).toBeInstanceOf(ShareSetupError);
  expect((reoffered as Error).message).toBe(
    `word_count came from alice's offer ${offer.id}: it is theirs to offer; only a tool this checkout built is offered`,
  );

  const carolMain = gitSync(carol.dir, ["rev-parse", "main"]).trim();
  const atCarol = await pull(carol, false);
  expect(atCarol.offers).toMatchObject([{ id: offer.id, state: "passed", reason: "passed: promote with 'org share promote ID'" }]);
  expect(gitSync(carol.dir, ["rev-parse", "main"]).trim()).toBe(carolMain);
  // Carol promotes it as any candidate ('org promote cand/…', the web room's Promote): the offer is promoted here too.
  const carolBranch = atCarol.offers[0]?.branch ?? "";
  expect(await promote(carol.refChange(), { branch: carolBranch, restart: false })).toMatchObject({ kind: "promoted" });
  expect(Object.values(readShareState(carol.access.home).offers)).toMatchObject([
    { id: offer.id, state: "promoted", reason: `promoted with ${carolBranch}` },
  ]);

  // Alice rolls the tool back: the rollback publishes a signed recall, and bob's next pull rolls his copy back too.
  const rolled = await rollback(alice.refChange(), { restart: false, target: { tool: "word_count" }, reason: "miscounts tabs" });
  expect(rolled.recalls).toEqual([{ tool: "word_count", ref: `refs/org/recalls/word_count/${offer.id}` }]);
  const recalled = await pull(bob, true);
  expect(recalled.recalls).toMatchObject([{ tool: "word_count", offer: offer.id, reason: "miscounts tabs" }]);
  expect(recalled.recalls[0]?.rolledBack).toMatch(/^rollback\/\d{8}T\d{6}Z$/);
  expect(gitSync(bob.dir, ["ls-tree", "main", "tools/generated/"]).trim()).toBe("");
  expect(Object.values(readShareState(bob.access.home).offers)).toMatchObject([
    { id: offer.id, state: "recalled", reason: "recalled: miscounts tabs" },
  ]);
  // Pulled again, nothing more happens.
  expect((await pull(bob, true)).recalls).toEqual([]);
  // Carol's copy, promoted without 'org share promote', is rolled back by the recall all the same.
  const atCarolAgain = await pull(carol, false);
  expect(atCarolAgain.recalls[0]?.rolledBack).toMatch(/^rollback\/\d{8}T\d{6}Z$/);
  expect(gitSync(carol.dir, ["ls-tree", "main", "tools/generated/"]).trim()).toBe("");
}, 240_000);

test("a name main holds for another tool is refused with the reason; landed under a name the person chooses, it is judged and passes", async () => {
  const [alice, bob] = world.machines as [ShareMachine, ShareMachine];
  // Bob built a slugify of his own; alice offers hers.
  await promoteFixture(bob, SLUGIFY, "cand/20261129T091000Z");
  await promoteFixture(alice, SLUGIFY, "cand/20261129T091001Z");
  const offer = await publishOffer(alice.access, "slugify");
  const refused = await pull(bob, false);
  expect(refused.offers).toMatchObject([
    {
      id: offer.id,
      state: "refused",
      reason: "the name slugify is taken here by a tool built here: land this one under another name with 'org share land ID --as NAME'",
    },
  ]);
  expect(() => renameOffer(bob.access, offer.id, "sh")).toThrow("cannot name a generated tool");
  expect(() => renameOffer(bob.access, offer.id.slice(0, 9), "slugify_alice")).toThrow("offers: give the whole id (org share list)");
  expect(renameOffer(bob.access, offer.id, "slugify_alice")).toMatchObject({ state: "new", as: "slugify_alice" });
  const landed = await pull(bob, false);
  expect(landed.offers).toMatchObject([{ id: offer.id, state: "passed", as: "slugify_alice" }]);
  const branch = landed.offers[0]?.branch ?? "";
  expect(
    gitSync(bob.dir, ["ls-tree", "--name-only", `${branch}:tools/generated`])
      .trim()
      .split("\n"),
  ).toEqual(["slugify", "slugify_alice"]);
  expect(JSON.parse(gitSync(bob.dir, ["show", `${branch}:tools/generated/slugify_alice/metadata.json`])).spec.name).toBe("slugify_alice");
  // Bob's own slugify is untouched.
  expect(gitSync(bob.dir, ["rev-parse", `${branch}:tools/generated/slugify`]).trim()).toBe(
    gitSync(bob.dir, ["rev-parse", "main:tools/generated/slugify"]).trim(),
  );
}, 240_000);

test("of several offers of one tool by one signer only the newest lands; the older are refused as superseded, never judged", async () => {
  const [alice, , carol] = world.machines as [ShareMachine, ShareMachine, ShareMachine];
  await promoteFixture(alice, CLAMP, "cand/20261129T092000Z");
  const older = await publishOffer(alice.access, "clamp_number");
  const newer = await publishOffer(alice.access, "clamp_number");
  const judged: string[] = [];
  // The gate is a port here: this test is about which offer reaches it (the gate's own runs are the tests above).
  const report = await pullAndLand({
    access: carol.access,
    judge: async (branch) => {
      judged.push(branch);
      return { ok: false, branch, stages: [], stoppedAt: "fitness", failure: "not judged in this test", verdict: "fail" };
    },
    autoPromote: false,
    rollbackContext: carol.refChange,
    signal: AbortSignal.timeout(60_000),
  });
  const states = Object.fromEntries(report.offers.map((record) => [record.id, `${record.state}: ${record.reason}`]));
  expect(states[older.id]).toBe(`refused: superseded by alice's newer offer ${newer.id} of clamp_number`);
  expect(states[newer.id]).toBe("refused: this machine's gate refused it: not judged in this test");
  // Carol also gets alice's slugify (the test above offered it); of clamp_number, only the newer offer was judged.
  const offersJudged = judged.map((branch) => /^Org-Offer: (\S+)$/m.exec(gitSync(carol.dir, ["log", "-1", "--format=%B", branch]))?.[1]);
  expect(offersJudged).toContain(newer.id);
  expect(offersJudged).not.toContain(older.id);
}, 60_000);

test("bob's corpus fails the tool and refuses it while carol's passes and promotes it", async () => {
  using machines = shareMachines(["alice", "bob", "carol"]);
  const [alice, bob, carol] = machines.machines as [ShareMachine, ShareMachine, ShareMachine];
  // Bob's team counts "well-known" as two words: his checkout holds a model scenario of its own saying so, which his
  // current (a model answering by itself) meets and a candidate whose model trusts alice's word_count does not.
  const scenarios = join(bob.dir, "fitness", "scenarios");
  mkdirSync(scenarios, { recursive: true });
  writeFileSync(
    join(scenarios, "hyphenated-words.json"),
    JSON.stringify({
      name: "hyphenated words count twice",
      request: { text: "how many words in: a well-known fact", mode: "direct:agent" },
      expect: { includes: ["There are 4 words"] },
    }),
  );
  gitSync(bob.dir, ["add", "fitness"]);
  gitSync(bob.dir, ["commit", "--quiet", "-m", "bob's corpus: hyphenated words"]);
  const text = (words: string) => ({ text: words, chunkSize: 1000 });
  await using model = await startScriptedServer({
    script: {
      models: ["scripted"],
      rules: [
        { when: { lastTool: "word_count", lastMessage: "(?<n>\\d+)" }, reply: text("There are {{match.n}} words") },
        {
          when: { tool: "word_count", lastMessage: "how many words" },
          reply: { toolCalls: [{ name: "word_count", arguments: { text: "a well-known fact" } }] },
        },
        { when: { lastMessage: "how many words" }, reply: text("There are 4 words") },
      ],
    },
  });
  const demo = join(import.meta.dir, "..", "demo");
  const bobConfig = loadOrgConfig(
    join(demo, "org.config.json"),
    { ...process.env, OLLAMA_BASE: model.url, OLLAMA_MODEL: "scripted" },
    { checkoutDir: demo },
  );
  await promoteFixture(alice, WORD_COUNT, "cand/20261129T093000Z");
  const offer = await publishOffer(alice.access, "word_count");
  trust(bob, alice);
  trust(carol, alice);
  const bobMain = gitSync(bob.dir, ["rev-parse", "main"]).trim();

  const atBob = await pull(bob, true, bobConfig);
  expect(atBob.offers).toMatchObject([{ id: offer.id, state: "refused" }]);
  expect(atBob.offers[0]?.reason).toStartWith("this machine's gate refused it: ");
  expect(atBob.offers[0]?.reason).toContain("hyphenated words count twice");
  expect(gitSync(bob.dir, ["rev-parse", "main"]).trim()).toBe(bobMain);
  // What 'org share list --json' shows: the refusal and the gate's reason, kept in bob's org home.
  expect(Object.values(readShareState(bob.access.home).offers)).toMatchObject([{ id: offer.id, state: "refused", reason: atBob.offers[0]?.reason }]);
  // Both of bob's instances were asked: his current answered by itself, the candidate called alice's tool.
  expect(model.requests.some((request) => JSON.stringify(request).includes("well-known fact"))).toBe(true);

  const atCarol = await pull(carol, true);
  expect(atCarol.offers).toMatchObject([{ id: offer.id, state: "promoted", reason: "promoted by share.autoPromote" }]);
  expect(gitSync(carol.dir, ["rev-parse", "main:tools/generated/word_count"]).trim()).toBe(
    gitSync(alice.dir, ["rev-parse", "main:tools/generated/word_count"]).trim(),
  );
}, 240_000);
