import { describe, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { gitSync, tempGitRepo } from "../../testing/temp-git-repo.ts";
import { toolsmithRules, VOWELS } from "../../testing/toolsmith-fixtures.ts";
import { exitsWithin, isLive, sandboxesOf } from "../../testing/process-tree.ts";
import { waitUntil } from "../../testing/wait-until.ts";

// Far below the 120 s test timeout that would end the hang without the signal; far above what a loaded machine takes to stop.
const SIGNAL_BOUND_MS = 20_000;

describe("org tool new stops on a signal (real process, scripted server, real sandbox)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} during a validation whose tests hang ends it long before it would end by itself, its sandbox and folders gone`, async () => {
      using repo = tempGitRepo();
      // Tests that never end, under a test timeout far longer than the wait below.
      const hanging = `import { expect, test } from "bun:test";\nimport vowelCount from "./tool.ts";\ntest("hangs", () => {\n  let n = 0;\n  while (vowelCount({ text: "a" }).vowels > 0) n = n + 1;\n  expect(n).toBe(0);\n});\n`;
      await using server = await startScriptedServer({ script: { rules: toolsmithRules(VOWELS, { tests: [hanging] }) } });
      const configDir = mkdtempSync(join(tmpdir(), "org-signal-config-"));
      using _configDir = { [Symbol.dispose]: () => rmSync(configDir, { recursive: true, force: true }) };
      const config = join(configDir, "org.config.json");
      writeFileSync(config, JSON.stringify({ toolsmith: { testTimeoutMs: 120_000 } }));
      const proc = Bun.spawn(orgCommand(["tool", "new", "--goal", VOWELS.goal, "--repo", repo.dir, "--config", config]), {
        stdout: "pipe",
        stderr: "pipe",
        env: { PATH: "/usr/bin:/bin", OLLAMA_BASE: server.url },
      });
      let stderr = "";
      void (async () => {
        for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
      })();
      let sandboxes: number[] = [];
      await waitUntil(
        "the tests stage running in a sandbox",
        () => {
          sandboxes = sandboxesOf(proc.pid);
          return stderr.includes("validation 3/6: tests") && sandboxes.length > 0;
        },
        60_000,
      );
      expect(readdirSync(join(repo.dir, ".org", "toolsmith")).some((name) => name.startsWith("run-"))).toBe(true);
      proc.kill(signal);
      const exited = await exitsWithin(proc, SIGNAL_BOUND_MS);
      if (!exited) proc.kill("SIGKILL");
      expect(exited).toBe(true);
      expect(proc.exitCode).not.toBe(0);
      await waitUntil("the sandbox's processes to be gone", () => sandboxes.every((pid) => !isLive(pid)), SIGNAL_BOUND_MS);
      expect(readdirSync(join(repo.dir, ".org", "toolsmith")).filter((name) => name.startsWith("run-"))).toEqual([]);
      expect(gitSync(repo.dir, ["worktree", "list", "--porcelain"]).match(/^worktree /gm)).toHaveLength(1);
      expect(gitSync(repo.dir, ["for-each-ref", "refs/heads/cand/"])).toBe("");
    }, 120_000);
  }
});
