import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { landCandidate } from "../git/candidate-branch.ts";
import { candidateWorktreeDir } from "../git/candidate-worktree.ts";
import { RepoGit } from "../git/repo-git.ts";
import { writeGeneratedTool } from "../testing/generated-tool-files.ts";
import { freePort } from "../testing/free-port.ts";
import { orgClone } from "../testing/org-clone.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";

// The cycle `tool new --promote` runs, on a throw-away clone with a tmux server of the test's own: what it made of the
// candidate (its instance in tmux, its worktree under .org/worktrees/) goes when it is over (promoted, or Ctrl-C), so
// the supervisor finds no dead run's leftovers; a candidate whose gate failed is left running to inspect. The cycle
// reads its ports and session from the environment, so it runs as a process of its own (the script below).

// None of org's test files: nothing here runs them, and each is a file more in every worktree a candidate gets.
const clone = orgClone("org-cycle-tmux-", { withoutGeneratedTools: true, onlyTests: [] });
const session = uniqueSessionName("org-cyc");
let tmux: TmuxServer;
const currentPort = freePort();
const candidatePort = freePort();

function env(): Record<string, string> {
  return {
    ...tmux.env,
    ORG_TMUX_SESSION: session,
    ORG_CURRENT_PORT: String(currentPort),
    ORG_CANDIDATE_PORT: String(candidatePort),
    OLLAMA_BASE: "http://127.0.0.1:9",
    ORG_START_TIMEOUT_S: "60",
    NO_COLOR: "1",
  };
}

beforeAll(async () => {
  tmux = await TmuxServer.start();
});
afterAll(async () => {
  await runOpsScript(clone.dir, "stop.sh", [], { cwd: clone.dir, env: env() }).catch(() => undefined);
  await tmux?.close();
  clone[Symbol.dispose]();
});

const module = (path: string) => JSON.stringify(join(import.meta.dir, "..", path));

/**
 * Runs the cycle's candidate part on `branch`: `done` starts the candidate and finishes as after a promotion; `refused`
 * and `interrupted` run promoteCandidate to a gate that cannot run (interrupted: Ctrl-C once the candidate is up).
 */
async function cycle(mode: "done" | "refused" | "interrupted", branch: string): Promise<{ code: number; out: string }> {
  const script = `
import { OrgError } from ${module("errors/org-error.ts")};
import { promoteCandidate } from ${module("cycle/promote-candidate.ts")};
import { tmuxInstances } from ${module("cycle/tmux-instances.ts")};
const [mode, checkout, branch] = process.argv.slice(-3);
const instances = tmuxInstances(checkout);
const controller = new AbortController();
const say = (line) => console.log(line);
if (mode === "done") {
  await instances.start("candidate", branch, say, controller.signal);
  say("finish: " + (await instances.finish("done")));
} else {
  const refusal = new OrgError("no gate here");
  const outcome = await promoteCandidate({
    branch,
    instances,
    gate: () => { throw refusal; },
    onProgress: (progress) => {
      if (progress.type === "candidate-left") say("left: " + progress.problem);
      if (mode === "interrupted" && progress.type === "instance-started" && progress.instance.role === "candidate") controller.abort();
    },
    signal: controller.signal,
  });
  say("stopped at " + outcome.stoppedAt + ": " + outcome.failure);
}
`;
  const child = Bun.spawn([process.execPath, "-e", script, mode, clone.dir, branch], {
    cwd: clone.dir,
    env: env(),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 150_000,
  });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, out: `${out}${err}` };
}

/**
 * `branch` (cand/<UTC second>): main plus the generated tool `tool`, landed as the toolsmith lands one, from objects
 * alone (a scratch worktree would check out all of org's files for each).
 */
async function candidateWithTool(branch: string, tool: string): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "org-cycle-tool-"));
  try {
    const folder = join("tools", "generated", tool);
    writeGeneratedTool(scratch, tool);
    const files = Object.fromEntries(
      readdirSync(join(scratch, folder)).map((file) => [`${folder}/${file}`, readFileSync(join(scratch, folder, file), "utf8")]),
    );
    const second = branch.replace(/^cand\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z");
    const landed = await landCandidate(
      new RepoGit(clone.dir),
      { files, subject: `candidate ${tool}`, trailers: {} },
      { now: () => new Date(second) },
    );
    expect(landed.branch).toBe(branch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const candidateWindow = async () =>
  (await tmux.tmux("list-windows", "-t", `=${session}`, "-F", "#{window_name}").catch(() => "")).split("\n").includes("candidate");
const worktrees = () => gitSync(clone.dir, ["worktree", "list", "--porcelain"]);

describe("what tool new --promote's cycle makes of a candidate goes when the cycle is over", () => {
  test("promoted: the candidate stopped and the worktree the cycle made removed", async () => {
    const branch = "cand/20261126T101500Z";
    await candidateWithTool(branch, "first_tool");
    const ran = await cycle("done", branch);
    expect({ code: ran.code, out: ran.out }).toMatchObject({ code: 0, out: expect.stringContaining("finish: undefined") });
    expect(ran.out).toContain("(new worktree)");
    expect(await candidateWindow()).toBe(false);
    expect(existsSync(candidateWorktreeDir(clone.dir, branch))).toBe(false);
    expect(worktrees()).not.toContain("cand-");
  }, 180_000);

  test("a gate that failed leaves the candidate running, in its worktree, to inspect; a later cycle on it leaves the worktree it did not make", async () => {
    const branch = "cand/20261126T101600Z";
    await candidateWithTool(branch, "second_tool");
    const refused = await cycle("refused", branch);
    expect(refused.out).toContain("stopped at fitness");
    expect(refused.out).not.toContain("left: ");
    expect(await candidateWindow()).toBe(true);
    expect(existsSync(candidateWorktreeDir(clone.dir, branch))).toBe(true);
    // The person looked, and a cycle on the same branch promoted it: the instance goes, the worktree it found stays.
    const done = await cycle("done", branch);
    expect(done.out).toContain("finish: undefined");
    expect(await candidateWindow()).toBe(false);
    expect(existsSync(candidateWorktreeDir(clone.dir, branch))).toBe(true);
  }, 240_000);

  test("interrupted (Ctrl-C) once the candidate is up: the candidate stopped and the worktree it made removed", async () => {
    const branch = "cand/20261126T101700Z";
    await candidateWithTool(branch, "third_tool");
    const ran = await cycle("interrupted", branch);
    expect(ran.out).toContain("stopped at fitness");
    expect(await candidateWindow()).toBe(false);
    expect(existsSync(candidateWorktreeDir(clone.dir, branch))).toBe(false);
    expect(worktrees()).not.toContain("cand-20261126T101700Z");
  }, 240_000);

  test("a candidate that could not start (its port taken) leaves no worktree behind", async () => {
    const branch = "cand/20261126T101800Z";
    await candidateWithTool(branch, "fourth_tool");
    const squatter = Bun.serve({ hostname: "127.0.0.1", port: candidatePort, fetch: () => new Response("not org") });
    try {
      const ran = await cycle("refused", branch);
      expect(ran.out).toContain(`stopped at candidate: port ${candidatePort} is taken by another program`);
    } finally {
      squatter.stop(true);
    }
    expect(await candidateWindow()).toBe(false);
    expect(existsSync(candidateWorktreeDir(clone.dir, branch))).toBe(false);
  }, 240_000);
});
