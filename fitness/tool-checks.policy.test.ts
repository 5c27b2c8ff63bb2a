import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { RepoGit } from "../git/repo-git.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { makeCandidate, promotionRepo, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { RecordingSandbox } from "../testing/recording-sandbox.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { checkGeneratedTools } from "./tool-checks.ts";

const root = mkdtempSync(join(tmpdir(), "org-tool-checks-policy-"));
chmodSync(root, 0o755); // the sandbox uid passes through it when org runs as root
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Until issue 46 the gate ran the tools' tests and their validation under the default policy, whatever org was
// assembled with: a bound of the config's, or its secrets, never reached them.
test("the gate runs the tools' tests and their validation under the policy org was assembled with: its secrets, and its bounds bind", async () => {
  using repo = promotionRepo([CLAMP]);
  const commit = makeCandidate(repo.dir, "cand/20261125T120200Z", (worktree) => writeFixtureTool(worktree, WORD_COUNT));
  const git = new RepoGit(repo.dir);
  const main = (await git.run(["rev-parse", "main"])).trim();
  const sandbox = new RecordingSandbox();
  // 32 MiB of address space per process: bun and the native compiler cannot start under it.
  const policy = sandboxPolicy({ secretValues: ["a-secret-of-the-config"], limits: { memoryBytes: 32 * 1024 * 1024 } });
  const checks = await checkGeneratedTools(git, {
    main,
    commit,
    runDir: join(root, "gate"),
    settings: ToolsmithSettings.parse({ testTimeoutMs: 10_000 }),
    revalidate: true,
    sandbox,
    sandboxPolicy: policy,
  });
  const failed = checks.filter((check) => !check.ok).map((check) => check.name);
  expect(failed).toContain("every tool's tests (main's tests for main's tools)");
  expect(sandbox.policies.length).toBeGreaterThan(0);
  for (const used of sandbox.policies) expect(used).toBe(policy);
}, 120_000);
