import { describe, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitsWithin, isLive, sandboxesOf } from "../testing/process-tree.ts";
import { makeCandidate, promotionRepo, startFakeInstance, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { waitUntil } from "../testing/wait-until.ts";

// Far below the gate's own 20 s test timeout, which would end the hang without the signal; far above what a
// loaded machine takes to stop (4 s at a load of 30).
const SIGNAL_BOUND_MS = 10_000;

const BRANCH = "cand/20261123T111500Z";

describe("org fitness stops on a signal (real processes, real sandbox, throw-away repo)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} while a candidate tool's tests hang ends the gate long before it would end by itself, its sandbox and work folders gone`, async () => {
      using repo = promotionRepo([WORD_COUNT]);
      // The gate's work folder goes under TMPDIR: a private one shows whether it was removed.
      const temporary = mkdtempSync(join(tmpdir(), "org-fitness-signal-"));
      chmodSync(temporary, 0o755); // the sandbox's support files go there too
      const workFolders = () => readdirSync(temporary).filter((name) => name.startsWith("org-fitness-"));
      const hanging = `import { expect, test } from "bun:test";\nimport clamp from "./tool.ts";\ntest("hangs", () => {\n  let n = 0;\n  while (clamp({ value: 1, min: 0, max: 2 }).result > 0) n = n + 1;\n  expect(n).toBe(0);\n});\n`;
      makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, CLAMP, { tests: hanging }));
      const instance = join(repo.dir, ".org", "candidate-instance");
      gitSync(repo.dir, ["worktree", "add", "--quiet", "--detach", instance, BRANCH]);
      try {
        using current = await startFakeInstance(repo.dir);
        using candidate = await startFakeInstance(instance);
        const proc = Bun.spawn(orgCommand(["fitness", String(candidate.port), "--repo", repo.dir]), {
          stdout: "ignore",
          stderr: "ignore",
          env: { PATH: "/usr/bin:/bin", NO_COLOR: "1", ORG_CURRENT_PORT: String(current.port), TMPDIR: temporary },
        });
        let sandboxes: number[] = [];
        await waitUntil(
          "the gate's tool tests running in a sandbox",
          () => {
            sandboxes = sandboxesOf(proc.pid);
            return sandboxes.length > 0;
          },
          60_000,
        );
        expect(workFolders()).toHaveLength(1);
        proc.kill(signal);
        const exited = await exitsWithin(proc, SIGNAL_BOUND_MS);
        if (!exited) proc.kill("SIGKILL");
        expect(exited).toBe(true);
        expect(proc.exitCode).not.toBe(0);
        await waitUntil("the sandbox's processes to be gone", () => sandboxes.every((pid) => !isLive(pid)), SIGNAL_BOUND_MS);
        const worktrees = gitSync(repo.dir, ["worktree", "list", "--porcelain"]);
        expect(worktrees).not.toContain("fitness-");
        expect(workFolders()).toEqual([]);
      } finally {
        gitSync(repo.dir, ["worktree", "remove", "--force", instance]);
        rmSync(temporary, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
