import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modulesLoadedBy } from "../../testing/loaded-modules.ts";
import { tempGitRepo } from "../../testing/temp-git-repo.ts";

// `org grow --dry-run` (and a run with nothing to build) loaded 562 modules, 236 of them the build's: the toolsmith
// with TypeScript's compiler, the gate and the in-process instances with serve's and the room's code. They load for
// a build only.
const repo = tempGitRepo("org-grow-loads-");
const workspace = mkdtempSync(join(tmpdir(), "org-grow-loads-ws-"));

afterAll(() => {
  repo[Symbol.dispose]();
  rmSync(workspace, { recursive: true, force: true });
});

test("org grow --dry-run reports without loading the toolsmith, TypeScript, the gate or the instances' code", async () => {
  const { stdout, exitCode, modules } = await modulesLoadedBy(
    ["grow", "--once", "--dry-run", "--json", "--repo", repo.dir, "--workspace", workspace],
    {
      env: { OLLAMA_BASE: "http://127.0.0.1:9" },
    },
  );
  expect(exitCode).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ dryRun: true, state: "done" });
  expect(modules).toContain("grow/build-step.ts");
  const build = (path: string) =>
    /^(toolsmith|mcp-server)\//.test(path) ||
    path.includes("org-bundled") ||
    path.startsWith("node_modules/typescript/") ||
    [
      "grow/build-proposal.ts",
      "cycle/build-and-promote.ts",
      "cycle/in-process-instances.ts",
      "fitness/run-fitness.ts",
      "serve/router.ts",
      "room/run-reply.ts",
    ].includes(path);
  expect(modules.filter(build)).toEqual([]);
}, 60_000);
