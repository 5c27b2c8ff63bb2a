import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { OfferRefusedError, pullAndLand } from "../../cycle/land-offers.ts";
import { ShareRemoteError } from "../../git/share-git.ts";
import { ShareSetupError } from "../../share/share-home.ts";
import { reportFailure } from "../command/report-failure.ts";
import { readShareState } from "../../share/offer-state.ts";
import { runOrgProcess } from "../../testing/org-process.ts";
import { promoteFixture, type ShareMachine, shareMachines } from "../../testing/share-machines.ts";
import { gitSync } from "../../testing/temp-git-repo.ts";
import { WORD_COUNT } from "../../testing/toolsmith-fixtures.ts";

// `org share` as a person types it, each machine a process with its own ORG_HOME and HOME: publish, trust, keys, list,
// and a pull killed with SIGKILL right after it landed an offer, which leaves a whole candidate or none, never a second.
let world: ReturnType<typeof shareMachines>;
let alice: ShareMachine;
let bob: ShareMachine;

beforeAll(async () => {
  world = shareMachines(["alice", "bob"]);
  [alice, bob] = world.machines as [ShareMachine, ShareMachine];
  await promoteFixture(alice, WORD_COUNT, "cand/20261129T080000Z");
});
afterAll(() => world?.[Symbol.dispose]());

const envOf = (machine: ShareMachine) => ({ ORG_HOME: machine.home, HOME: join(world.root, `${machine.name}-home`) });
const org = (machine: ShareMachine, ...args: string[]) =>
  runOrgProcess(["share", ...args], { env: envOf(machine), cwd: machine.dir, timeoutMs: 60_000 });

test("publish, trust, keys, remote and list through the CLI; a pull killed mid-way leaves one whole candidate, judged on the next pull", async () => {
  const published = await org(alice, "publish", "word_count", "--repo", alice.dir, "--machine", "alice-laptop");
  expect(published.stderr).toBe("");
  expect(published.stdout).toMatch(
    /^offered word_count as (\d{8}T\d{9}Z-[0-9a-f]{8}) \(refs\/org\/offers\/word_count\/\1, commit [0-9a-f]{12}, signed\)\n$/,
  );
  const id = /as (\S+)/.exec(published.stdout)?.[1] ?? "";

  expect((await org(bob, "remote")).stdout).toBe(`${world.remote}\n`);
  const trusted = await org(bob, "trust", `${alice.key}.pub`, "--name", "alice");
  expect(trusted.stdout).toMatch(/^trusted alice \(SHA256:\S+\): its offers are judged here by 'org share pull'\n$/);
  expect(JSON.parse((await org(bob, "keys", "--json")).stdout)).toMatchObject([{ name: "alice", type: "ssh-ed25519" }]);
  expect((await org(bob, "keys")).stdout).toMatch(/^NAME {3}TYPE {9}FINGERPRINT\nalice  ssh-ed25519  SHA256:\S+\n$/);
  const bad = await org(bob, "trust", "--remove");
  expect(bad.exitCode).toBe(2);

  // The pull is killed the moment it says it landed the offer: the candidate branch is whole (made in one ref update).
  const pull = Bun.spawn(orgCommand(["share", "pull", "--repo", bob.dir, "--workspace", bob.dir, "--no-restart"]), {
    cwd: bob.dir,
    env: { ...process.env, NO_COLOR: "1", ...envOf(bob) },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    timeout: 60_000,
  });
  let said = "";
  const decoder = new TextDecoder();
  for await (const chunk of pull.stdout) {
    said += decoder.decode(chunk);
    if (said.includes("judging it")) break;
  }
  pull.kill("SIGKILL");
  await pull.exited;
  expect(said).toContain(`offer ${id} of word_count by alice: landed as cand/`);
  const branches = gitSync(bob.dir, ["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/cand/"]).trim().split("\n");
  expect(branches).toHaveLength(1);
  const [branch = ""] = (branches[0] ?? "").split(" ");
  expect(gitSync(bob.dir, ["ls-tree", "-r", "--name-only", branch, "tools/generated/"]).trim().split("\n")).toEqual([
    "tools/generated/word_count/metadata.json",
    "tools/generated/word_count/tool.test.ts",
    "tools/generated/word_count/tool.ts",
  ]);
  const listed = JSON.parse((await org(bob, "list", "--json")).stdout);
  expect(listed).toMatchObject([{ id, tool: "word_count", state: "judging", branch, signer: "alice" }]);

  // The next pull finds the same candidate (no second one) and hands it to the judge; without share.autoPromote a pass
  // waits. The gate is a port here: this test is about which candidate reaches it (the gate's own run on an offer is
  // cycle/land-offers.test.ts, "alice offers, bob's gate judges and promotes it …; carol's passes it and waits").
  const judged: { branch: string; promote: boolean }[] = [];
  const report = await pullAndLand({
    access: bob.access,
    judge: async (candidate, promote) => {
      judged.push({ branch: candidate, promote });
      return { ok: true, branch: candidate, stages: [], verdict: "pass" };
    },
    autoPromote: false,
    rollbackContext: bob.refChange,
    signal: AbortSignal.timeout(120_000),
  });
  expect(judged).toEqual([{ branch, promote: false }]);
  expect(report.offers).toMatchObject([{ id, state: "passed", branch }]);
  expect(gitSync(bob.dir, ["for-each-ref", "--format=%(refname:short)", "refs/heads/cand/"]).trim()).toBe(branch);
  expect(Object.values(readShareState(bob.access.home).offers)).toHaveLength(1);
  // org tool show names the offer and its signer for the candidate it became.
  const shown = await runOrgProcess(["tool", "show", "word_count", "--ref", branch, "--repo", bob.dir], { env: envOf(bob), timeoutMs: 60_000 });
  expect(shown.stdout).toMatch(
    new RegExp(`^offered by alice \\(SHA256:\\S+\\), offer ${id}; judged by this machine's gate \\(org share list\\)$`, "m"),
  );
  const table = (await org(bob, "list")).stdout;
  expect(table).toContain(`${id}  word_count  passed  alice   ${branch}  passed: promote with 'org share promote ID'`);

  // Alice takes it back with a reason: the recall her rollback pushes carries it to the team.
  const rolled = await runOrgProcess(["rollback", "word_count", "--reason", "miscounts tabs", "--repo", alice.dir, "--no-restart"], {
    env: envOf(alice),
    cwd: alice.dir,
    timeoutMs: 60_000,
  });
  expect(rolled.stdout).toContain(`recalled word_count from the team: refs/org/recalls/word_count/${id} (signed)`);
  gitSync(bob.dir, ["fetch", "--quiet", world.remote, `refs/org/recalls/word_count/${id}:refs/walk/recall`]);
  expect(JSON.parse(gitSync(bob.dir, ["show", "refs/walk/recall:recall.json"]))).toMatchObject({ reason: "miscounts tabs" });
}, 180_000);

test("a share refusal (no such offer, a remote down, a key that is not one) is one line for the person, never a bug's stack", () => {
  for (const error of [
    new OfferRefusedError("no offer \"x\" was pulled here: see 'org share list'"),
    new ShareRemoteError("the share remote file:///gone.git did not answer: fatal: …", { nextStep: "Nothing changed here." }),
    new ShareSetupError("not a public key"),
  ]) {
    const report = reportFailure(error);
    expect(report).toMatchObject({ exitCode: 1 });
    expect(report.text).toStartWith(`org: ${error.message}\n`);
    expect(report.text).not.toContain("a bug in org");
  }
});
