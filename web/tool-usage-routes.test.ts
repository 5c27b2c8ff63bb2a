import { expect, test } from "bun:test";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import { promote } from "../cycle/promote.ts";
import { promotionContext } from "../cycle/promotion-context.ts";
import { landCandidate } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import { createRouter } from "../serve/router.ts";
import { offerTrailers } from "../share/tool-origin.ts";
import { writePassingReport } from "../testing/promotion-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { toolUsageRoutes } from "./tool-usage-routes.ts";
import { webApiSchemas } from "./web-api.ts";
import type { WebContext } from "./web-routes.ts";

test("the Tools view's list names the teammate's offer and signer a promoted tool came from, and none for one built here", async () => {
  using repo = tempGitRepo("org-web-tool-origin-");
  const git = new RepoGit(repo.dir);
  const context = promotionContext({ repo: git, log: () => {}, share: false });
  const fingerprint = "SHA256:i9bh6t2OKc24etMwKGdCfxQbhRpHPFZiZrIpldl/kEQ";
  const land = async (tool: string, at: string, trailers: Record<string, string>) => {
    const files = { [`tools/generated/${tool}/tool.ts`]: "export default () => ({});\n" };
    const landed = await landCandidate(git, { files, subject: `tool: ${tool}`, trailers }, { now: () => new Date(at) });
    writePassingReport(repo.dir, landed.commit, landed.branch);
    expect((await promote(context, { branch: landed.branch, restart: false })).kind).toBe("promoted");
  };
  await land(
    "from_alice",
    "2026-11-29T10:00:00Z",
    offerTrailers({ offer: "20261129T113720695Z-225cd861", signer: "alice", fingerprint, offerCommit: "a".repeat(40) }),
  );
  await land("built_here", "2026-11-29T10:00:05Z", {});
  const demo = join(import.meta.dir, "..", "demo");
  const config = loadOrgConfig(join(demo, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "scripted" }, { checkoutDir: demo });
  const routes = toolUsageRoutes({ ...({} as WebContext), checkoutDir: repo.dir, config });
  const answer = await createRouter(routes, [])(new Request("http://org.test/v1/tool-usage"));
  const { tools } = webApiSchemas().ToolUsageList.parse(await answer.json());
  expect(Object.fromEntries(tools.map((tool) => [tool.name, tool.origin]))).toEqual({
    from_alice: { offer: "20261129T113720695Z-225cd861", signer: "alice", fingerprint },
    built_here: null,
  });
});
