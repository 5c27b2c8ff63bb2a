// `npm run bench:share`: what a pull costs as a team's remote fills, and what judging an offer costs against building the
// same tool here. First, alice publishes N offers of one tool (each signed and pushed as `org share publish` does); bob,
// who trusts her, pulls them all (count, quarantined fetch, every signature and hash checked, states written) and lists
// them; then pulls again with nothing new. Then, in runs that alternate which goes first, each on machines made afresh:
// bob pulls one offer of alice's word_count and judges it (`org share pull`'s path: landed as a candidate, this
// machine's gate against two in-process serves), and carol, a machine like bob's, has the toolsmith build the same tool
// from its goal ("count the words in a text") on the scripted model server, then the same gate judges its candidate.
// Neither promotes. The scripted model answers at once, so the figures are org's own time.
//   bun bench/share.ts [OFFERS] [--runs N]   (OFFERS: 200; --runs: the judge-against-build runs, 5; 0 leaves them out)
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { buildAndPromote } from "../cycle/build-and-promote.ts";
import { inProcessGateOptions } from "../cycle/in-process-gate.ts";
import { inProcessInstances } from "../cycle/in-process-instances.ts";
import { inProcessOfferJudge, pullAndLand } from "../cycle/land-offers.ts";
import type { CycleOutcome } from "../cycle/promote-candidate.ts";
import { toolsmithModel } from "../personas/persona-model.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { readShareState } from "../share/offer-state.ts";
import { publishOffer } from "../share/publish-offer.ts";
import { pullOffers } from "../share/pull-offers.ts";
import { promoteFixture, type ShareMachine, shareMachines, trust } from "../testing/share-machines.ts";
import { scriptedToolsmithScript } from "../testing/scripted-toolsmith.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { WORD_COUNT } from "../testing/toolsmith-fixtures.ts";

const { values, positionals } = parseArgs({ options: { runs: { type: "string", default: "5" } }, allowPositionals: true });
const OFFERS = Number(positionals[0] ?? 200);
const RUNS = Math.max(0, Number(values.runs));
const GOAL = "count the words in a text";
const load = () => loadavg()[0]?.toFixed(1);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
};

/** CPU seconds of this process and of the children it has waited for (/proc/self/stat cutime + cstime, 1/100 s ticks). */
function cpuSeconds(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
  const own = process.cpuUsage();
  return (Number(fields[13]) + Number(fields[14])) / 100 + (own.user + own.system) / 1e6;
}

console.log(`bench/share: ${availableParallelism()} cores, load average ${load()}, bun ${Bun.version}, ${OFFERS} offers, ${RUNS} runs`);

{
  using world = shareMachines(["alice", "bob"]);
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
}

if (RUNS > 0) {
  // One scripted server (no pacing in its replies) and one sandbox for every run, as one org process has; the demo config.
  await using server = await startScriptedServer({ script: scriptedToolsmithScript() });
  const demo = join(import.meta.dir, "..", "demo");
  const config = loadOrgConfig(
    join(demo, "org.config.json"),
    { ...process.env, OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
    { checkoutDir: demo },
  );
  const access = { sandbox: new Sandbox(), sandboxPolicy: sandboxPolicyFrom({ config }) };
  type Figure = { ms: number; cpu: number; gateMs: number; blob: string; asked: number };
  const figures: Record<"judge" | "build", Figure[]> = { judge: [], build: [] };
  const gateOf = (outcome: CycleOutcome | undefined) => outcome?.stages.find((stage) => stage.stage === "fitness")?.durationMs ?? Number.NaN;

  /** Bob pulls alice's one offer, lands it and judges it on his gate; the gate's time and the candidate's tool.ts. */
  async function judgeOffer(world: { root: string }, bob: ShareMachine): Promise<{ gateMs: number; blob: string }> {
    const judge = inProcessOfferJudge({ ...access, config, access: bob.access, workspaceDir: join(world.root, "bob-workspace") });
    let judged: CycleOutcome | undefined;
    const report = await pullAndLand({
      access: bob.access,
      judge: async (branch, promote, signal) => {
        judged = await judge(branch, promote, signal);
        return judged;
      },
      autoPromote: false,
      rollbackContext: bob.refChange,
      signal: AbortSignal.timeout(600_000),
    });
    const [offer] = report.offers;
    if (report.offers.length !== 1 || offer?.state !== "passed" || !offer.branch)
      throw new Error(`bob's gate did not pass the offer: ${JSON.stringify(report.offers).slice(0, 2000)}`);
    return { gateMs: gateOf(judged), blob: gitSync(bob.dir, ["rev-parse", `${offer.branch}:tools/generated/word_count/tool.ts`]).trim() };
  }

  /** Carol's toolsmith builds the tool from its goal and the same gate judges its candidate; the gate's time and its tool.ts. */
  async function buildHere(world: { root: string }, carol: ShareMachine): Promise<{ gateMs: number; blob: string }> {
    const git = carol.access.git;
    const instances = inProcessInstances({
      config,
      toolRepo: git,
      ...access,
      instanceWorkspace: (role) => join(world.root, "carol-workspace", ORG_DIR, `build-${role}`),
    });
    try {
      const { built, cycle } = await buildAndPromote({
        toolsmith: { goal: GOAL, model: toolsmithModel(config), repoDir: carol.dir, settings: config.toolsmith, ...access },
        instances,
        gate: () => inProcessGateOptions({ config, git, ...access }),
        signal: AbortSignal.timeout(600_000),
      });
      if (!built.ok || !cycle?.ok || cycle.verdict !== "pass")
        throw new Error(`carol's build was not passed: ${built.ok ? (cycle?.failure ?? cycle?.verdict) : built.failure}`);
      return { gateMs: gateOf(cycle), blob: gitSync(carol.dir, ["rev-parse", `${built.branch}:tools/generated/word_count/tool.ts`]).trim() };
    } finally {
      await instances.close();
    }
  }

  async function timed(what: () => Promise<{ gateMs: number; blob: string }>): Promise<Figure> {
    const cpu = cpuSeconds();
    const requests = server.requests.length;
    const started = performance.now();
    const { gateMs, blob } = await what();
    return { ms: performance.now() - started, cpu: cpuSeconds() - cpu, gateMs, blob, asked: server.requests.length - requests };
  }

  console.log(`\njudging one offer against building the same tool here ("${GOAL}"), ${RUNS} runs alternating which goes first:`);
  for (let run = 1; run <= RUNS; run += 1) {
    using world = shareMachines(["alice", "bob", "carol"]);
    const [alice, bob, carol] = world.machines as [ShareMachine, ShareMachine, ShareMachine];
    await promoteFixture(alice, WORD_COUNT, "cand/20261129T070000Z");
    await publishOffer(alice.access, "word_count");
    trust(bob, alice);
    const order = run % 2 === 1 ? (["judge", "build"] as const) : (["build", "judge"] as const);
    const results: Partial<Record<"judge" | "build", Figure>> = {};
    for (const which of order) results[which] = await timed(() => (which === "judge" ? judgeOffer(world, bob) : buildHere(world, carol)));
    const { judge, build } = results as Record<"judge" | "build", Figure>;
    // The same tool: alice's promoted code, the candidate bob judged and the one carol built (metadata differs: provenance).
    const alices = gitSync(alice.dir, ["rev-parse", "main:tools/generated/word_count/tool.ts"]).trim();
    if (judge.blob !== alices || build.blob !== alices)
      throw new Error(`not the same tool: alice's tool.ts ${alices}, judged ${judge.blob}, built ${build.blob}`);
    figures.judge.push(judge);
    figures.build.push(build);
    console.log(
      `${run}. ${order.join(" then ")}: judge ${seconds(judge.ms)} (gate ${seconds(judge.gateMs)}, cpu ${judge.cpu.toFixed(1)} s, ` +
        `${judge.asked} model requests), build ${seconds(build.ms)} (gate ${seconds(build.gateMs)}, cpu ${build.cpu.toFixed(1)} s, ` +
        `${build.asked} model requests), ${(judge.ms / build.ms).toFixed(2)}×; load ${load()}`,
    );
  }
  const of = (which: "judge" | "build", key: "ms" | "cpu" | "gateMs") => median(figures[which].map((figure) => figure[key]));
  console.log(
    `median of ${RUNS}: judging one offer ${seconds(of("judge", "ms"))} (its gate ${seconds(of("judge", "gateMs"))}, cpu ` +
      `${of("judge", "cpu").toFixed(1)} s) against building it here ${seconds(of("build", "ms"))} (its gate ` +
      `${seconds(of("build", "gateMs"))}, cpu ${of("build", "cpu").toFixed(1)} s): ${(of("judge", "ms") / of("build", "ms")).toFixed(2)}×; ` +
      `${availableParallelism()} cores, load average ${load()}`,
  );
}
