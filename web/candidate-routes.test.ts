import { expect, test } from "bun:test";
import { landCandidate } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import { createRouter } from "../serve/router.ts";
import { publishOffer } from "../share/publish-offer.ts";
import { offerTrailers } from "../share/tool-origin.ts";
import { promoteFixture, type ShareMachine, shareMachines } from "../testing/share-machines.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { candidateList, candidateRoutes } from "./candidate-routes.ts";
import type { GateRuns } from "./gate-runs.ts";
import { webApiSchemas } from "./web-api.ts";
import type { WebContext } from "./web-routes.ts";

test("the Candidates view's list names the teammate's offer a candidate was landed from, and none for one built here", async () => {
  using repo = tempGitRepo("org-web-offer-");
  const git = new RepoGit(repo.dir);
  const tool = (name: string) => ({ [`tools/generated/${name}/tool.ts`]: "export default () => ({});\n" });
  const fingerprint = "SHA256:i9bh6t2OKc24etMwKGdCfxQbhRpHPFZiZrIpldl/kEQ";
  const offered = await landCandidate(
    git,
    {
      files: tool("from_alice"),
      subject: "offer: from_alice from alice",
      trailers: offerTrailers({ offer: "20261129T113720695Z-225cd861", signer: "alice", fingerprint, offerCommit: "a".repeat(40) }),
    },
    { now: () => new Date("2026-11-29T10:00:00Z") },
  );
  const built = await landCandidate(
    git,
    { files: tool("built_here"), subject: "tool: built_here", trailers: {} },
    { now: () => new Date("2026-11-29T10:00:05Z") },
  );
  const list = webApiSchemas().CandidateList.parse(await candidateList(git, { list: () => [] }));
  const offerOf = (branch: string) => list.candidates.find((candidate) => candidate.branch === branch)?.offer;
  expect(offerOf(offered.branch)).toEqual({ id: "20261129T113720695Z-225cd861", signer: "alice", fingerprint });
  expect(offerOf(built.branch)).toBeNull();
});

test("the web room's Roll back of a tool the person offered pushes a signed recall to the team's remote, and says so", async () => {
  using world = shareMachines(["alice"]);
  const [alice] = world.machines as [ShareMachine];
  await promoteFixture(alice, WORD_COUNT, "cand/20261129T090000Z");
  const offer = await publishOffer(alice.access, "word_count");
  const [tag] = gitSync(alice.dir, ["tag", "--list", "promote/*"]).trim().split("\n");
  const routes = candidateRoutes({
    ...({} as WebContext),
    git: alice.access.git,
    gates: {} as GateRuns,
    reloadTools: async () => {},
    changed: () => {},
    share: alice.access,
  });
  const answer = await createRouter(
    routes,
    [],
  )(new Request(`http://org.test/v1/promotions/${tag?.slice("promote/".length)}/rollback`, { method: "POST" }));
  const said = webApiSchemas().ActionAnswer.parse(await answer.json());
  const ref = `refs/org/recalls/word_count/${offer.id}`;
  expect(said).toMatchObject({ ok: true, said: expect.stringContaining(`recalled word_count from the team: ${ref} (signed)`) });
  expect(gitSync(world.root, ["ls-remote", world.remote, ref])).toContain(ref);
  // Without a reason given, a teammate reads that the publisher rolled it back (not "here", which is their machine).
  gitSync(alice.dir, ["fetch", "--quiet", world.remote, `${ref}:refs/walk/recall`]);
  expect(JSON.parse(gitSync(alice.dir, ["show", "refs/walk/recall:recall.json"]))).toMatchObject({
    reason: expect.stringMatching(/^rolled back by its publisher \(rollback\/\d{8}T\d{6}Z\)$/),
  });
  expect(gitSync(alice.dir, ["ls-tree", "main", "tools/generated/"]).trim()).toBe("");
}, 60_000);
