import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandbox } from "../testing/test-sandbox.ts";
import { uniqueSessionName } from "../testing/tmux.ts";
import { locksCheck } from "./locks-check.ts";
import { superviseEvery } from "./supervisor.ts";
import { SUPERVISOR_DIR, SupervisorState } from "./supervisor-state.ts";

test("superviseEvery: a round now and one after each wait of supervise.every, without an onRound too; one supervisor per workspace; its locks gone when it stops", async () => {
  using repo = tempGitRepo("org-supervisor-loop-");
  writeFileSync(join(repo.dir, "org.config.json"), JSON.stringify({ supervise: { every: "5m" } }));
  const controller = new AbortController();
  const waits: number[] = [];
  let second: Awaited<ReturnType<typeof runOrgProcess>> | undefined;
  await superviseEvery(
    {
      workspaceDir: repo.dir,
      repoDir: repo.dir,
      sandbox: testSandbox,
      loadConfig: () => loadOrgConfig(join(repo.dir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9" }, { workspaceDir: repo.dir }),
      instance: { port: 9, tmuxSession: uniqueSessionName("org-sv-loop"), startTimeoutMs: 10_000 },
      say: () => {},
      checks: [locksCheck],
      signal: controller.signal,
    },
    {
      wait: async (ms) => {
        waits.push(ms);
        // A second supervisor of the same workspace, a process of its own, is refused while this one runs.
        second ??= await runOrgProcess(["supervise", "--workspace", repo.dir, "--repo", repo.dir], {
          env: { OLLAMA_BASE: "http://127.0.0.1:9" },
          timeoutMs: 60_000,
        });
        if (waits.length === 2) controller.abort();
      },
    },
  );
  expect(waits).toEqual([300_000, 300_000]);
  expect(second?.exitCode).toBe(1);
  expect(second?.stderr).toContain(`another org supervise (pid ${process.pid}`);
  expect(existsSync(join(repo.dir, SUPERVISOR_DIR, "supervise.lock"))).toBe(false);
  expect(existsSync(join(repo.dir, SUPERVISOR_DIR, "round.lock"))).toBe(false);
  const state = SupervisorState.open(repo.dir);
  try {
    expect(state.checks().map((check) => check.name)).toEqual(["locks"]);
    expect(state.get("round:last")).toBeDefined();
  } finally {
    state.close();
  }
}, 90_000);
