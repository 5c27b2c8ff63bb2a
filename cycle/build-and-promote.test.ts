import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import { loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { httpModel } from "../llm/http-model.ts";
import { workingStrace } from "../fitness/folder-trace.ts";
import { FitnessReport } from "../fitness/fitness-report.ts";
import { promotionContext } from "./promotion-context.ts";
import { RepoGit } from "../git/repo-git.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { makeCandidate } from "../testing/promotion-fixture.ts";
import { SCRIPTED_TOOLS, scriptedToolsmithScript } from "../testing/scripted-toolsmith.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { type BuildProgress, buildAndPromote } from "./build-and-promote.ts";
import { inProcessInstances } from "./in-process-instances.ts";
import { type CandidateCycleRequest, type CycleProgress, promoteCandidate } from "./promote-candidate.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// The cycle called directly, as `org grow` will call it: a throw-away repository, the scripted toolsmith, the real
// sandbox, the real gate against two in-process `serve`s, and the real promotion. Everything comes back as values.
let server: ScriptedServer;
let config: OrgConfig;
const workspaces: string[] = [];

beforeAll(async () => {
  server = await startScriptedServer({ script: scriptedToolsmithScript() });
  // The demo's config names built-in tools only: its own folder stands for the checkout, whose promoted tools are
  // no part of this test (and are then never read, so the gate does not count this file a reader of a candidate's).
  const demo = join(import.meta.dir, "..", "demo");
  config = loadOrgConfig(join(demo, "org.config.json"), { ...process.env, OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" }, { checkoutDir: demo });
});
afterAll(async () => {
  await server?.stop();
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

/**
 * A throw-away main whose .org/ (reports, worktrees, the gate's key) is no part of its files; `withTests`: a module
 * that names tools/generated/ and two tests that import it, one of which looks into the folder (the gate's tests stage).
 */
function throwawayRepo(withTests = false): { git: RepoGit } & Disposable {
  const repo = tempGitRepo("org-cycle-");
  writeFileSync(join(repo.dir, ".gitignore"), ".org/\n");
  if (withTests) {
    writeFileSync(join(repo.dir, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
    const test = (body: string) =>
      `import { expect, test } from "bun:test";\nimport { existsSync } from "node:fs";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("t", () => {\n  ${body}\n});\n`;
    writeFileSync(join(repo.dir, "looks.test.ts"), test('expect(typeof existsSync(GENERATED_DIR)).toBe("boolean");'));
    writeFileSync(join(repo.dir, "names.test.ts"), test('expect(GENERATED_DIR).toBe("tools/generated");'));
  }
  gitSync(repo.dir, ["add", "-A"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "a main for candidates"]);
  return { git: new RepoGit(repo.dir), [Symbol.dispose]: () => repo[Symbol.dispose]() };
}

/** The cycle's parts for `git`: in-process instances, the gate at one run a scenario, a promotion without restart. */
function cycleOn(git: RepoGit): Omit<CandidateCycleRequest, "branch" | "onProgress" | "signal"> & { instances: { close(): Promise<void> } } {
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-cycle-workspace-"));
  chmodSync(workspaceDir, 0o755);
  workspaces.push(workspaceDir);
  return {
    instances: inProcessInstances({
      ...testSandboxAccess(),
      config,
      toolRepo: git,
      instanceWorkspace: (role) => join(workspaceDir, ".org", `cycle-${role}`),
    }),
    gate: () => ({
      ...testSandboxAccess(),
      settings: config.toolsmith,
      git,
      allowCore: false,
      bun: process.execPath,
      testsTimeoutMs: 120_000,
      scenarios: { dir: join(git.repoDir, "fitness", "scenarios"), runs: 1, marginRatio: 0.5, marginMs: 200, timeoutMs: 60_000 },
    }),
    promotion: { context: (log) => promotionContext({ repo: git, log }), restart: false },
  };
}

test("a goal becomes a tool on main: built (main's tests traced beside it), started beside current, judged pass and promoted, each stage a value", async () => {
  using repo = throwawayRepo(true);
  const parts = cycleOn(repo.git);
  const heard: BuildProgress[] = [];
  const goal = SCRIPTED_TOOLS.find((tool) => tool.fixture.spec.name === "word_count")?.goal as string;
  try {
    const { built, cycle } = await buildAndPromote({
      toolsmith: {
        ...testSandboxAccess(),
        goal,
        model: httpModel({ server: server.url, modelId: "scripted" }),
        repoDir: repo.git.repoDir,
        settings: config.toolsmith,
        sandboxPolicy: sandboxPolicyFrom({ config }),
      },
      ...parts,
      onProgress: (progress) => heard.push(progress),
      signal: AbortSignal.timeout(240_000),
    });
    expect(built).toMatchObject({ ok: true, name: "word_count" });
    if (!built.ok || !cycle) throw new Error("the build made no branch");
    expect(cycle.stages.map((stage) => `${stage.stage} ${stage.ok} ${stage.exitCode}`)).toEqual([
      "current true 0",
      "candidate true 0",
      "fitness true 0",
      "promote true 0",
    ]);
    expect(cycle).toMatchObject({ ok: true, branch: built.branch, verdict: "pass" });
    expect(cycle.stoppedAt).toBeUndefined();
    expect(cycle.stages[2]?.detail).toBe("verdict: pass — every stage passed");
    expect(cycle.reportPath?.startsWith(join(repo.git.repoDir, ".org", "fitness", built.commit))).toBe(true);
    expect(existsSync(cycle.reportPath as string)).toBe(true);
    const main = gitSync(repo.git.repoDir, ["rev-parse", "main"]).trim();
    expect(cycle.promotion).toMatchObject({ kind: "promoted", branch: built.branch, merge: main });
    expect(gitSync(repo.git.repoDir, ["rev-parse", "main^2"]).trim()).toBe(built.commit);
    expect(gitSync(repo.git.repoDir, ["ls-tree", "--name-only", "main:tools/generated"]).trim()).toBe("word_count");
    // Main's tests were traced beside the build, so the gate ran only the one that looks into tools/generated/.
    const beside = heard.flatMap((progress) => (progress.type === "note" && progress.stage === "build" ? [progress.line] : []));
    const tests = FitnessReport.parse(JSON.parse(readFileSync(cycle.reportPath as string, "utf8"))).checks.find((check) => check.stage === "tests");
    if (workingStrace()) {
      expect(beside).toEqual([
        "beside the build: tracing the 2 test file(s) a tool can reach, each alone under strace, once for this code (first trace for this code)",
        "beside the build: tracing the tests this change reaches: 2/2",
        "beside the build: traced 2 file(s): 1 of the 2 read tools/generated/ (recorded for this code)",
      ]);
      expect(tests?.figures).toMatchObject({ selection: "recorded readers", ran: ["looks.test.ts"], notReading: ["names.test.ts"], passed: 1 });
    } else {
      expect(beside).toEqual([]);
      expect(tests?.figures).toMatchObject({ selection: "all", ran: ["looks.test.ts", "names.test.ts"] });
    }
    // Progress came in order: the toolsmith's branch, then each stage started and done, the gate's outcome before its end.
    const order = heard.flatMap((progress) =>
      progress.type === "toolsmith" && progress.event.type === "branch-created"
        ? ["branch"]
        : progress.type === "stage-start" || progress.type === "judged" || progress.type === "promoted"
          ? [`${progress.type}${"stage" in progress ? ` ${progress.stage}` : ""}`]
          : progress.type === "stage-done"
            ? [`done ${progress.result.stage}`]
            : [],
    );
    expect(order).toEqual([
      "branch",
      "stage-start current",
      "done current",
      "stage-start candidate",
      "done candidate",
      "stage-start fitness",
      "judged",
      "done fitness",
      "stage-start promote",
      "promoted",
      "done promote",
    ]);
  } finally {
    await parts.instances.close();
  }
}, 300_000);

test("a candidate the gate refuses stops the cycle at fitness: the verdict, the report and the reason as values, main untouched", async () => {
  using repo = throwawayRepo();
  const parts = cycleOn(repo.git);
  const branch = "cand/20261123T101500Z";
  // A change outside tools/generated/: the protected core refuses it before anything runs.
  const commit = makeCandidate(repo.git.repoDir, branch, (worktree) => writeFileSync(join(worktree, "README.md"), "changed by a candidate\n"));
  const mainBefore = gitSync(repo.git.repoDir, ["rev-parse", "main"]).trim();
  const heard: CycleProgress[] = [];
  try {
    const outcome = await promoteCandidate({
      branch,
      ...parts,
      onProgress: (progress) => heard.push(progress),
      signal: AbortSignal.timeout(120_000),
    });
    expect(outcome).toMatchObject({ ok: false, branch, stoppedAt: "fitness", verdict: "fail" });
    expect(outcome.stages.map((stage) => `${stage.stage} ${stage.ok} ${stage.exitCode}`)).toEqual([
      "current true 0",
      "candidate true 0",
      "fitness false 1",
    ]);
    expect(outcome.failure).toStartWith("verdict: fail — protected-core failed: protected core: ");
    expect(outcome.failure).toContain("README.md");
    expect(outcome.stages[2]?.reportPath).toBe(outcome.reportPath as string);
    expect(existsSync(outcome.reportPath as string)).toBe(true);
    expect(outcome.reportPath?.startsWith(join(repo.git.repoDir, ".org", "fitness", commit))).toBe(true);
    expect(outcome.promotion).toBeUndefined();
    expect(heard.some((progress) => progress.type === "stage-start" && progress.stage === "promote")).toBe(false);
    expect(gitSync(repo.git.repoDir, ["rev-parse", "main"]).trim()).toBe(mainBefore);
    expect(gitSync(repo.git.repoDir, ["rev-parse", branch]).trim()).toBe(commit);
  } finally {
    await parts.instances.close();
  }
}, 180_000);
