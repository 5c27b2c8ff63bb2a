import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { orgInvocation } from "../cli/org-invocation.ts";
import { freePort } from "../testing/free-port.ts";
import { makeCandidate, promotionRepo, runOrg, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";

const BAD = "cand/20261123T101700Z";
const WORSE = "cand/20261123T101800Z";

async function waitForHealth(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  const answers = () =>
    fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
  while (!(await answers())) {
    if (Date.now() > deadline) throw new Error(`nothing answered /health on port ${port} within 20 s`);
    await Bun.sleep(50);
  }
}

test("prune keeps a candidate whose instance runs, naming it and how to stop it; --force stops the instance first", async () => {
  using repo = promotionRepo();
  for (const [branch, tool] of [
    [BAD, "bad_tool"],
    [WORSE, "worse_tool"],
  ] as const) {
    const commit = makeCandidate(repo.dir, branch, (worktree) => writeTool(worktree, tool, "x"));
    writePassingReport(repo.dir, commit, branch, (report) => {
      report.verdict = "fail";
    });
  }
  // BAD is served from its worktree, as 'instance start candidate' leaves it, in a window of a private tmux server.
  const worktree = join(repo.dir, ".org", "worktrees", "cand-20261123T101700Z");
  gitSync(repo.dir, ["worktree", "add", "--quiet", "--detach", worktree, BAD]);
  const tmux = await TmuxServer.start();
  try {
    const session = uniqueSessionName("org-prune");
    const port = freePort();
    await tmux.newSession(
      session,
      `exec ${process.execPath} ${join(import.meta.dir, "..", "testing", "fake-current-server.ts")} ${port} ${worktree}`,
    );
    await tmux.tmux("rename-window", "-t", `=${session}:`, "candidate");
    await waitForHealth(port);
    const env = { ...tmux.env, ORG_CANDIDATE_PORT: String(port), ORG_TMUX_SESSION: session };

    const kept = await runOrg(["candidate", "prune", "--repo", repo.dir], env);
    expect(kept.code).toBe(0);
    expect(kept.out).toContain(
      `kept ${BAD}: its instance is running on :${port}; stop it with ${orgInvocation()} instance stop candidate, or prune with --force (which stops it first)`,
    );
    expect(kept.out).toContain(`removed ${WORSE}`);
    expect(kept.out).not.toContain(`removed ${BAD}`);
    expect(gitSync(repo.dir, ["for-each-ref", "--format=%(refname:strip=2)", "refs/heads/cand/"]).trim()).toBe(BAD);
    expect(existsSync(worktree)).toBe(true);

    const forced = await runOrg(["candidate", "prune", "--force", "--repo", repo.dir], env);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain(`stopped the candidate instance of ${BAD} (stopped), to prune it`);
    expect(forced.out).toContain(`removed ${BAD} (bad_tool): failed the gate; with its worktree and its reports`);
    expect(existsSync(worktree)).toBe(false);
    const answered = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      () => "answers",
      () => "gone",
    );
    expect(answered).toBe("gone");
  } finally {
    await tmux.close();
  }
}, 90_000);
