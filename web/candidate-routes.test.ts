import { expect, test } from "bun:test";
import { landCandidate } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import { offerTrailers } from "../share/tool-origin.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { candidateList } from "./candidate-routes.ts";
import { webApiSchemas } from "./web-api.ts";

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
