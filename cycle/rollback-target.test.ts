import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { rollbackCommand } from "../cli/candidates/rollback-command.ts";
import { UsageError } from "../cli/command/command.ts";
import { failureReport } from "../cli/run-org.ts";
import { consistencyProblems, makeCandidate, promotionRepo, runOrg, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { checkoutState, gitSync } from "../testing/temp-git-repo.ts";

const org = (dir: string, ...args: string[]) => runOrg([...args, "--repo", dir, "--no-restart"], {});

/** Builds `branch` on today's main with `tool`, signs a passing report for it and promotes it; returns the promote/ tag. */
async function promoteTool(dir: string, branch: string, tool: string, body = "v1"): Promise<string> {
  const commit = makeCandidate(dir, branch, (worktree) => writeTool(worktree, tool, body));
  writePassingReport(dir, commit, branch);
  const promoted = await org(dir, "promote", branch);
  expect(promoted.code).toBe(0);
  return /tag (promote\/\d{8}T\d{6}Z)/.exec(promoted.out)?.[1] as string;
}

const toolsOnMain = (dir: string) => gitSync(dir, ["ls-tree", "--name-only", "main:tools/generated"]).trim().split("\n");

describe("org rollback TARGET: a named promotion, also when later ones exist (git 2.39, no merge-tree --merge-base)", () => {
  test("by tool name and by tag, the older promotion is reverted and the later one stays; the tool is then promoted again", async () => {
    using repo = promotionRepo();
    const lowerTag = await promoteTool(repo.dir, "cand/20261123T101500Z", "lower");
    const shoutTag = await promoteTool(repo.dir, "cand/20261123T101600Z", "shout");
    expect(lowerTag).not.toBe(shoutTag);
    expect(toolsOnMain(repo.dir)).toEqual(["lower", "shout", "upper"]);

    const byName = await org(repo.dir, "rollback", "lower");
    expect(byName.out).toContain(`rolled back ${lowerTag}`);
    expect(byName.code).toBe(0);
    expect(toolsOnMain(repo.dir)).toEqual(["shout", "upper"]);
    expect(existsSync(join(repo.dir, "tools/generated/lower"))).toBe(false);
    expect(gitSync(repo.dir, ["log", "-1", "--format=%B", "main"])).toContain(`Rolls-Back: ${lowerTag}`);
    expect(await consistencyProblems(repo.dir, undefined)).toEqual([]);
    // Nothing but the lower folder changed.
    expect(gitSync(repo.dir, ["diff", "--name-only", "main^", "main"]).trim()).toBe("tools/generated/lower/tool.ts");

    const list = JSON.parse((await runOrg(["candidate", "list", "--json", "--repo", repo.dir], {})).out) as { branch: string; state: string }[];
    expect(list.map((row) => row.state)).toEqual(["rolled-back", "promoted"]);
    const again = await org(repo.dir, "rollback", "lower");
    expect(again.code).toBe(1);
    expect(again.out).toContain("no promotion still in place on main added or changed the tool lower");

    // The rolled-back branch itself is refused, pointing at rebase.
    const direct = await org(repo.dir, "promote", "cand/20261123T101500Z");
    expect(direct.code).toBe(1);
    expect(direct.out).toContain("org candidate rebase cand/20261123T101500Z");
    // Built again (here: rebased onto today's main), judged, promoted again.
    const rebased = await runOrg(["candidate", "rebase", "cand/20261123T101500Z", "--repo", repo.dir], {});
    const branch = /made (cand\/\d{8}T\d{6}Z)/.exec(rebased.out)?.[1] as string;
    writePassingReport(repo.dir, gitSync(repo.dir, ["rev-parse", branch]).trim(), branch);
    const repromoted = await org(repo.dir, "promote", branch);
    expect(repromoted.code).toBe(0);
    expect(toolsOnMain(repo.dir)).toEqual(["lower", "shout", "upper"]);

    // By tag: the shout promotion, with the lower one on top of it now.
    const byTag = await org(repo.dir, "rollback", shoutTag);
    expect(byTag.out).toContain(`rolled back ${shoutTag}`);
    expect(byTag.code).toBe(0);
    expect(toolsOnMain(repo.dir)).toEqual(["lower", "upper"]);
    expect(await consistencyProblems(repo.dir, undefined)).toEqual([]);
  }, 120_000);

  test("refused when a later promotion changed the same tool; by name the newest one that changed it is taken", async () => {
    using repo = promotionRepo();
    const first = await promoteTool(repo.dir, "cand/20261123T101500Z", "lower", "v1");
    const second = await promoteTool(repo.dir, "cand/20261123T101600Z", "lower", "v2");
    const state = checkoutState(repo.dir);
    const refused = await org(repo.dir, "rollback", first);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`${first} cannot be rolled back alone: later commits on main changed lower`);
    expect(checkoutState(repo.dir)).toBe(state);
    const byName = await org(repo.dir, "rollback", "lower");
    expect(byName.out).toContain(`rolled back ${second}`);
    expect(byName.code).toBe(0);
    expect(gitSync(repo.dir, ["show", "main:tools/generated/lower/tool.ts"])).toContain('"v1"');
  }, 90_000);

  test("a target that is neither a promote/ tag nor a tool name is a usage error before any git call", async () => {
    using repo = promotionRepo();
    const state = checkoutState(repo.dir);
    // One through the process (its exit code); the others through the command's own run, reported as main reports it.
    const refused = await org(repo.dir, "rollback", "--upload-pack=x");
    expect(refused.code).toBe(2);
    for (const bad of ["../x", "promote/2026", "rollback/20261123T101500Z"]) {
      const error = await rollbackCommand.run([bad, "--repo", repo.dir, "--no-restart"], AbortSignal.timeout(30_000)).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe(`${JSON.stringify(bad)} is neither a promote/YYYYMMDDTHHMMSSZ tag nor a tool name`);
      expect((await failureReport(error)).exitCode).toBe(2);
    }
    expect(checkoutState(repo.dir)).toBe(state);
  }, 60_000);
});
