import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { toolsmithRules, VOWELS } from "../testing/toolsmith-fixtures.ts";
import { waitUntil } from "../testing/wait-until.ts";

const main = join(import.meta.dir, "..", "main.ts");

/** Every process below `pid`, read from /proc (children of each thread). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = "";
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, "utf8");
      } catch {
        continue;
      }
      for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
};
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

describe("org tool new stops on a signal (real process, scripted server, real sandbox)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} during a validation whose tests hang ends it within 2 s, its sandbox and folders gone`, async () => {
      using repo = tempGitRepo();
      // Tests that never end, under a test timeout far longer than the wait below.
      const hanging = `import { expect, test } from "bun:test";\nimport vowelCount from "./tool.ts";\ntest("hangs", () => {\n  let n = 0;\n  while (vowelCount({ text: "a" }).vowels > 0) n = n + 1;\n  expect(n).toBe(0);\n});\n`;
      await using server = await startScriptedServer({ script: { rules: toolsmithRules(VOWELS, { tests: [hanging] }) } });
      const config = join(repo.dir, "..", `org-signal-${signal}.json`);
      writeFileSync(config, JSON.stringify({ toolsmith: { testTimeoutMs: 120_000 } }));
      const proc = Bun.spawn([process.execPath, main, "tool", "new", "--goal", VOWELS.goal, "--repo", repo.dir, "--config", config], {
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
          sandboxes = descendants(proc.pid).filter((pid) => commandOf(pid) === "bwrap");
          return stderr.includes("validation 3/6: tests") && sandboxes.length > 0;
        },
        60_000,
      );
      expect(readdirSync(join(repo.dir, ".org", "toolsmith")).some((name) => name.startsWith("run-"))).toBe(true);
      proc.kill(signal);
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(2_000).then(() => false)]);
      if (!exited) proc.kill("SIGKILL");
      expect(exited).toBe(true);
      expect(proc.exitCode).not.toBe(0);
      await waitUntil("the sandbox's processes to be gone", () => sandboxes.every((pid) => !alive(pid)), 2_000);
      expect(readdirSync(join(repo.dir, ".org", "toolsmith")).filter((name) => name.startsWith("run-"))).toEqual([]);
      expect(gitSync(repo.dir, ["worktree", "list", "--porcelain"]).match(/^worktree /gm)).toHaveLength(1);
      expect(gitSync(repo.dir, ["for-each-ref", "refs/heads/cand/"])).toBe("");
    }, 120_000);
  }
});
