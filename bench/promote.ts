// Fitness + promote + rollback wall time with 1, 10 and 50 generated tools on main (the candidate adds one more),
// on throw-away repositories with stand-in instances (testing/fake-current-server.ts), and where the time goes:
// the gate's checks one by one, and the promote and rollback processes (current restarted through the repo's
// ops/start-current.sh and waited for). Targets on 2 cores: fitness ≤ 15 s for 10 tools, rollback ≤ 2 s.
//   bun bench/promote.ts [--tools 1,10,50]
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { makeCandidate, promotionRepo, runOrg, startFakeInstance, stopCurrents, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { TOOL_FIXTURES } from "../testing/toolsmith-fixtures.ts";
import { type FitnessReport, latestReport, writeFitnessReport } from "../fitness/fitness-report.ts";

const { values } = parseArgs({ options: { tools: { type: "string", default: "1,10,50" } } });
const counts = (values.tools ?? "")
  .split(",")
  .map(Number)
  .filter((count) => count > 0);
const BRANCH = "cand/20261123T101500Z";
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

console.log(`bench/promote: ${availableParallelism()} cores, bun ${Bun.version}`);
for (const count of counts) {
  // Tool i is fixture i % 10 under its own name; the candidate adds the first fixture once more as a new tool.
  const fixtures = Array.from({ length: count }, (_, index) => {
    const fixture = TOOL_FIXTURES[index % TOOL_FIXTURES.length];
    if (!fixture) throw new Error("no tool fixtures");
    return { ...fixture, spec: { ...fixture.spec, name: `t${String(index).padStart(2, "0")}_${fixture.spec.name as string}`.slice(0, 48) } };
  });
  using repo = promotionRepo(fixtures);
  const newTool = TOOL_FIXTURES[1];
  if (!newTool) throw new Error("no tool fixtures");
  makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, newTool, { name: "candidate_tool" }));
  const worktree = join(repo.dir, ".org", "candidate-instance");
  gitSync(repo.dir, ["worktree", "add", "--quiet", "--detach", worktree, BRANCH]);
  let env: Record<string, string> = {};
  let fitnessMs = 0;
  let report: FitnessReport | undefined;
  {
    using current = await startFakeInstance(repo.dir);
    using candidate = await startFakeInstance(worktree);
    // promote restarts the current at the same port.
    env = { ORG_CURRENT_PORT: String(current.port) };
    const started = performance.now();
    const fitness = await runOrg(["fitness", String(candidate.port), "--repo", repo.dir, "--runs", "3"], env, 600_000);
    fitnessMs = performance.now() - started;
    if (fitness.code !== 0) throw new Error(`fitness did not pass with ${count} tools:\n${fitness.out}`);
    const commit = gitSync(repo.dir, ["rev-parse", BRANCH]).trim();
    report = latestReport(repo.dir, commit)?.report;
  }
  gitSync(repo.dir, ["worktree", "remove", "--force", worktree]);
  let started = performance.now();
  const promoted = await runOrg(["promote", BRANCH, "--repo", repo.dir], env);
  const promoteMs = performance.now() - started;
  if (promoted.code !== 0) throw new Error(`promote failed:\n${promoted.out}`);
  started = performance.now();
  const rolledBack = await runOrg(["rollback", "--repo", repo.dir], env);
  const rollbackMs = performance.now() - started;
  if (rolledBack.code !== 0) throw new Error(`rollback failed:\n${rolledBack.out}`);
  // The same pair again without restarting current: the git part alone.
  const again = makeCandidate(repo.dir, "cand/20261123T101600Z", (tree) => writeFixtureTool(tree, newTool, { name: "candidate_tool" }));
  const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();
  if (report) writeFitnessReport(repo.dir, { ...report, commit: again, mainCommit: main, mac: undefined });
  started = performance.now();
  const promotedBare = await runOrg(["promote", "cand/20261123T101600Z", "--repo", repo.dir, "--no-restart"], env);
  const promoteBareMs = performance.now() - started;
  if (promotedBare.code !== 0) throw new Error(`promote --no-restart failed:\n${promotedBare.out}`);
  started = performance.now();
  const rolledBackBare = await runOrg(["rollback", "--repo", repo.dir, "--no-restart"], env);
  const rollbackBareMs = performance.now() - started;
  if (rolledBackBare.code !== 0) throw new Error(`rollback --no-restart failed:\n${rolledBackBare.out}`);
  started = performance.now();
  const bare = await runOrg(["rollback", "--help"], {});
  const startupMs = performance.now() - started;
  if (bare.code !== 0) throw new Error("org --help failed");
  stopCurrents(repo.dir);

  console.log(`\n${count} generated tool(s) on main, the candidate adds one:`);
  console.log(`  fitness   ${seconds(fitnessMs).padStart(9)}  (target for 10 tools: 15 s)`);
  for (const check of report?.checks ?? []) console.log(`    ${check.stage.padEnd(15)} ${seconds(check.durationMs).padStart(9)}  ${check.name}`);
  console.log(`  promote   ${seconds(promoteMs).padStart(9)}  (merge, ref transaction, checkout, restart, health)`);
  console.log(`  rollback  ${seconds(rollbackMs).padStart(9)}  (target 2 s; same steps)`);
  console.log(`    without restarting current: promote ${seconds(promoteBareMs)}, rollback ${seconds(rollbackBareMs)}`);
  console.log(`    of which starting org itself: ~${seconds(startupMs)} per command`);
}
