import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCandidate, promotionRepo, runOrg, writeFixtureTool, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { candidateTools } from "../generated-tools/tool-catalog.ts";
import { checkoutState, gitSync } from "../testing/temp-git-repo.ts";
import { type CandidateRow, liveCandidateToolNames } from "./candidate-states.ts";
import { landCandidate } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import { listCandidates } from "../cycle/candidate-branches.ts";

const LOWER = "cand/20261123T101500Z";
const SHOUT = "cand/20261123T101600Z";
const BAD = "cand/20261123T101700Z";

const org = (dir: string, ...args: string[]) => runOrg([...args, "--repo", dir], {});

/** The rows `candidate list --json` prints, read in this process (the first case reads them through the command). */
const list = (dir: string): Promise<CandidateRow[]> => listCandidates(new RepoGit(dir), AbortSignal.timeout(30_000));

async function listThroughCommand(dir: string): Promise<CandidateRow[]> {
  const result = await org(dir, "candidate", "list", "--json");
  expect(result.code).toBe(0);
  return JSON.parse(result.out) as CandidateRow[];
}

const states = (rows: CandidateRow[]) => Object.fromEntries(rows.map((row) => [row.branch, row.state]));

/** Three candidates: lower (untested), shout (judged pass, then promoted and rolled back), bad (judged fail). */
async function threeCandidates(dir: string) {
  const lower = makeCandidate(dir, LOWER, (worktree) => writeTool(worktree, "lower", "x"));
  const shout = makeCandidate(dir, SHOUT, (worktree) => writeTool(worktree, "shout", "x"));
  const bad = makeCandidate(dir, BAD, (worktree) => writeTool(worktree, "bad_tool", "x"));
  writePassingReport(dir, shout, SHOUT);
  writePassingReport(dir, bad, BAD, (report) => {
    report.verdict = "fail";
  });
  return { lower, shout, bad };
}

describe("org candidate list, rebase and prune on a throw-away repository", () => {
  test("the toolsmith's taken names and tool list see live candidates only, each tool once", async () => {
    using repo = promotionRepo();
    makeCandidate(repo.dir, LOWER, (worktree) => writeFixtureTool(worktree, WORD_COUNT));
    const failed = makeCandidate(repo.dir, SHOUT, (worktree) => writeFixtureTool(worktree, CLAMP));
    // The same tool built twice: the newer branch is the one shown.
    makeCandidate(repo.dir, BAD, (worktree) => writeFixtureTool(worktree, WORD_COUNT));
    writePassingReport(repo.dir, failed, SHOUT, (report) => {
      report.verdict = "fail";
    });
    const entries = await candidateTools(new RepoGit(repo.dir), liveCandidateToolNames);
    expect(entries.map((entry) => [entry.name, entry.status === "candidate" ? entry.branch : entry.status])).toEqual([["word_count", BAD]]);
    const listed = await org(repo.dir, "tool", "list", "--json");
    expect(listed.code).toBe(0);
    expect(listed.out).not.toContain("clamp");
    expect(listed.out.match(/"word_count"/g)).toHaveLength(1);
  }, 60_000);

  // One repository walks through every state and on to rebase, which starts from where the states end.
  test("every state, as JSON with the contract's fields; only live candidates hold a tool's name; " +
    "rebase makes a new cand/ from today's main with the same tool files; a rolled-back tool is promoted again that way", async () => {
    using repo = promotionRepo();
    const { lower, shout } = await threeCandidates(repo.dir);
    let rows = await listThroughCommand(repo.dir);
    expect(states(rows)).toEqual({ [LOWER]: "untested", [SHOUT]: "pass", [BAD]: "fail" });
    const row = rows.find((entry) => entry.branch === SHOUT) as CandidateRow;
    expect(row).toMatchObject({ branch: SHOUT, tools: ["shout"], state: "pass", commit: shout });
    expect(Object.keys(row).slice(0, 6)).toEqual(["branch", "tools", "state", "commit", "builtAt", "reportPath"]);
    expect(row.reportPath).toStartWith(join(repo.dir, ".org", "fitness", shout));
    expect(Number.isNaN(Date.parse(row.builtAt))).toBe(false);
    expect(rows.find((entry) => entry.branch === LOWER)?.reportPath).toBeNull();

    expect((await org(repo.dir, "promote", SHOUT, "--no-restart")).code).toBe(0);
    rows = await list(repo.dir);
    // main moved: the untested one is stale now.
    expect(states(rows)).toEqual({ [LOWER]: "stale", [SHOUT]: "promoted", [BAD]: "fail" });
    expect((await org(repo.dir, "rollback", "--no-restart")).code).toBe(0);
    rows = await list(repo.dir);
    expect(states(rows)).toEqual({ [LOWER]: "stale", [SHOUT]: "rolled-back", [BAD]: "fail" });
    expect([...(await liveCandidateToolNames(new RepoGit(repo.dir)))]).toEqual([["lower", LOWER]]);
    expect(lower).toMatch(/^[0-9a-f]{40}$/);

    const text = await org(repo.dir, "candidate", "list");
    expect(text.out).toContain("BRANCH");
    expect(text.out).toMatch(new RegExp(`${SHOUT.replace("/", "\\/")}\\s+shout\\s+rolled-back`));

    // From the state above (lower stale, shout rolled back, bad failed): rebase.
    const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();

    // The stale one: a new branch on main, the old one superseded and left alone.
    const stale = await org(repo.dir, "candidate", "rebase", LOWER);
    expect(stale.code).toBe(0);
    const made = /made (cand\/\d{8}T\d{6}Z)/.exec(stale.out)?.[1] as string;
    expect(made).toBeDefined();
    expect(gitSync(repo.dir, ["rev-parse", `${made}^`]).trim()).toBe(main);
    expect(gitSync(repo.dir, ["rev-parse", `${made}:tools/generated/lower`]).trim()).toBe(
      gitSync(repo.dir, ["rev-parse", `${LOWER}:tools/generated/lower`]).trim(),
    );
    expect(gitSync(repo.dir, ["diff", "--name-only", main, made]).trim()).toBe("tools/generated/lower/tool.ts");
    rows = await list(repo.dir);
    expect(rows.find((row) => row.branch === made)?.state).toBe("untested");
    expect(rows.find((row) => row.branch === LOWER)?.supersededBy).toBe(made);

    // The rolled-back one comes back as a new candidate that can be judged and promoted.
    const again = await org(repo.dir, "candidate", "rebase", SHOUT);
    expect(again.code).toBe(0);
    const back = /made (cand\/\d{8}T\d{6}Z)/.exec(again.out)?.[1] as string;
    const backCommit = gitSync(repo.dir, ["rev-parse", back]).trim();
    expect(backCommit).not.toBe(shout);
    writePassingReport(repo.dir, backCommit, back);
    const promoted = await org(repo.dir, "promote", back, "--no-restart");
    expect(promoted.out).toContain(`promoted ${back}`);
    expect(promoted.code).toBe(0);
    expect(existsSync(join(repo.dir, "tools", "generated", "shout", "tool.ts"))).toBe(true);
    rows = await list(repo.dir);
    expect(rows.find((row) => row.branch === back)?.state).toBe("promoted");

    // A branch that touches anything but tool files is not rebased.
    makeCandidate(repo.dir, "cand/20261123T101800Z", (worktree) => {
      writeTool(worktree, "sneaky", "x");
      mkdirSync(join(worktree, "ops"), { recursive: true });
      Bun.write(join(worktree, "ops", "start-current.sh"), "echo owned\n");
    });
    const refused = await org(repo.dir, "candidate", "rebase", "cand/20261123T101800Z");
    expect(refused.code).toBe(1);
    expect(refused.out).toContain("refused to rebase cand/20261123T101800Z");
    expect(refused.out).toContain("ops/start-current.sh");
  }, 120_000);

  test("a branch the toolsmith lands names its model, from the commit's trailer", async () => {
    using repo = promotionRepo();
    const git = new RepoGit(repo.dir);
    const landed = await landCandidate(git, {
      files: { "tools/generated/echo_len/tool.ts": "export default () => ({});\n" },
      subject: "feat(tools): generated tool echo_len",
      trailers: {
        "Org-Tool": "echo_len",
        "Org-Spec-Model": "small at http://127.0.0.1:1",
        "Org-Implementation-Model": "qwen2.5-coder:7b at http://127.0.0.1:11434",
      },
    });
    const rows = await list(repo.dir);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      branch: landed.branch,
      tools: ["echo_len"],
      state: "untested",
      commit: landed.commit,
      model: "qwen2.5-coder:7b",
      reportPath: null,
    });
  }, 30_000);

  test("prune --dry-run lists, prune removes promoted, rolled-back, failed and superseded ones with their worktrees and reports", async () => {
    using repo = promotionRepo();
    const { bad, shout } = await threeCandidates(repo.dir);
    expect((await org(repo.dir, "promote", SHOUT, "--no-restart")).code).toBe(0);
    // A worktree of the failed candidate, as start-candidate leaves one.
    const worktree = join(repo.dir, ".org", "worktrees", "cand-20261123T101700Z");
    gitSync(repo.dir, ["worktree", "add", "--quiet", "--detach", worktree, BAD]);
    const state = checkoutState(repo.dir);
    const dry = await org(repo.dir, "candidate", "prune", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(`would remove ${SHOUT} (shout): promoted`);
    expect(dry.out).toContain(`would remove ${BAD} (bad_tool): failed the gate; with its worktree and its reports`);
    expect(dry.out).not.toContain(LOWER);
    expect(checkoutState(repo.dir)).toBe(state);
    expect((await org(repo.dir, "candidate", "prune", "--older-than", "1")).out).toContain("nothing to prune.");

    const pruned = await org(repo.dir, "candidate", "prune");
    expect(pruned.code).toBe(0);
    expect(pruned.out).toContain("removed 2 candidate(s).");
    const left = gitSync(repo.dir, ["for-each-ref", "--format=%(refname:strip=2)", "refs/heads/cand/"]).trim().split("\n");
    expect(left).toEqual([LOWER]);
    expect(existsSync(worktree)).toBe(false);
    expect(existsSync(join(repo.dir, ".org", "fitness", bad))).toBe(false);
    expect(existsSync(join(repo.dir, ".org", "fitness", shout))).toBe(false);
    expect(gitSync(repo.dir, ["worktree", "list"]).trim().split("\n")).toHaveLength(1);
  }, 90_000);
});

describe("the next steps promote and rebase print", () => {
  test("run as printed from any directory: they name the checkout's launcher by its full path", async () => {
    using repo = promotionRepo();
    // The checkout's launcher: here one that notes each call, standing in for bin/org of another org checkout.
    const calls = join(repo.dir, ".org", "launcher-calls");
    mkdirSync(join(repo.dir, "bin"), { recursive: true });
    writeFileSync(join(repo.dir, "bin", "org"), `#!/bin/sh\necho "$*" >> '${calls}'\n`);
    chmodSync(join(repo.dir, "bin", "org"), 0o755);
    makeCandidate(repo.dir, LOWER, (worktree) => writeTool(worktree, "lower", "x"));
    const elsewhere = mkdtempSync(join(tmpdir(), "org-hint-cwd-"));
    try {
      const run = (line: string) => Bun.spawnSync(["/bin/sh", "-c", line], { cwd: elsewhere, env: { PATH: "/usr/bin:/bin" }, stdin: "ignore" });

      const refused = await org(repo.dir, "promote", LOWER, "--no-restart");
      expect(refused.code).toBe(1);
      expect(refused.out).not.toContain("ops/");
      const hint = /judge it with (.+)$/m.exec(refused.out)?.[1];
      expect(hint).toBe(`${join(repo.dir, "bin", "org")} instance start candidate ${LOWER} && ${join(repo.dir, "bin", "org")} fitness`);
      expect(run(hint as string).exitCode).toBe(0);

      const rebased = await org(repo.dir, "candidate", "rebase", LOWER);
      expect(rebased.code).toBe(0);
      const made = /made (cand\/\d{8}T\d{6}Z)/.exec(rebased.out)?.[1];
      const next = /^next: (.+)$/m.exec(rebased.out)?.[1];
      expect(next).toBe(`${join(repo.dir, "bin", "org")} instance start candidate ${made} && ${join(repo.dir, "bin", "org")} fitness`);
      expect(run(next as string).exitCode).toBe(0);
      expect(readFileSync(calls, "utf8")).toBe(`instance start candidate ${LOWER}\nfitness\ninstance start candidate ${made}\nfitness\n`);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 60_000);
});
