import { confirmConfig } from "../config/config-trust.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOpsScript } from "../testing/run-ops-script.ts";
import { writeGeneratedTool } from "../testing/generated-tool-files.ts";
import { freePort } from "../testing/free-port.ts";
import { orgClone } from "../testing/org-clone.ts";
import { checkoutState, gitSync } from "../testing/temp-git-repo.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";
import type { Health } from "../fitness/instance-health.ts";
import { probeHealth } from "./health-probe.ts";
import { checkCandidateStartable, InstanceStartError } from "./side-by-side.ts";
import { RepoGit } from "../git/repo-git.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";

// A copy of org as its own repository (none of its test files: the instances never read them, and each is a file more
// in every worktree a candidate gets), a tmux server of the test's own, free ports.
const clone = orgClone("org-side-by-side-", { onlyTests: [] });
const session = uniqueSessionName("org-sbs");
let tmux: TmuxServer;
let currentPort = 0;
let candidatePort = 0;

beforeAll(async () => {
  tmux = await TmuxServer.start();
  currentPort = freePort();
  candidatePort = freePort();
});
afterAll(async () => {
  await runScript("stop.sh").catch(() => undefined);
  await tmux?.close();
  clone[Symbol.dispose]();
});

async function runScript(name: string, ...args: string[]) {
  const env = {
    ...tmux.env,
    ORG_TMUX_SESSION: session,
    ORG_CURRENT_PORT: String(currentPort),
    ORG_CANDIDATE_PORT: String(candidatePort),
    OLLAMA_BASE: "http://127.0.0.1:9",
    NO_COLOR: "1",
  };
  return await runOpsScript(clone.dir, name, args, { cwd: clone.dir, env });
}

async function health(port: number): Promise<Health> {
  const probe = await probeHealth(port);
  if (probe.kind !== "org") throw new Error(`no org server on ${port}: ${probe.detail}`);
  return probe.health;
}

async function panePid(window: string): Promise<string> {
  return (await tmux.tmux("display-message", "-p", "-t", `=${session}:=${window}`, "#{pane_pid}")).trim();
}

function commit(message: string): string {
  gitSync(clone.dir, ["add", "-A"]);
  gitSync(clone.dir, ["commit", "--quiet", "-m", message]);
  return gitSync(clone.dir, ["rev-parse", "HEAD"]).trim();
}

function candidateBranch(name: string, change: () => void): string {
  gitSync(clone.dir, ["checkout", "--quiet", "-b", name, "main"]);
  change();
  const made = commit(`candidate ${name}`);
  gitSync(clone.dir, ["checkout", "--quiet", "main"]);
  return made;
}

describe("ops/start-current.sh, start-candidate.sh and stop.sh in a throw-away clone with a real tmux", () => {
  test("current starts in its window, answers /health with HEAD's commit, and a second run changes nothing", async () => {
    const started = await runScript("start-current.sh");
    expect(started.all).toContain(
      `current: started; healthy at http://127.0.0.1:${currentPort} (commit ${clone.head.slice(0, 12)} on main) in tmux window ${session}:current.`,
    );
    expect(started.code).toBe(0);
    expect(await health(currentPort)).toMatchObject({ commit: clone.head, branch: "main" });
    const pid = await panePid("current");
    const again = await runScript("start-current.sh");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already running");
    expect(await panePid("current")).toBe(pid);
  }, 90_000);

  test("the newest candidate runs from its own worktree with the checkout's dependencies linked; the checkout is untouched", async () => {
    const older = candidateBranch("cand/20261123T101500Z", () => writeGeneratedTool(clone.dir, "older_tool"));
    const newer = candidateBranch("cand/20261123T101600Z", () => writeGeneratedTool(clone.dir, "word_count"));
    expect(older).not.toBe(newer);
    const before = checkoutState(clone.dir);
    const started = await runScript("start-candidate.sh");
    expect(started.code).toBe(0);
    expect(started.stdout).toContain("dependencies linked from the current checkout");
    const worktree = join(clone.dir, ".org", "worktrees", "cand-20261123T101600Z");
    const candidate = await health(candidatePort);
    expect(candidate).toMatchObject({ commit: newer, branch: "cand/20261123T101600Z" });
    expect(candidate.tools).toContain("word_count");
    expect(candidate.tools).not.toContain("older_tool");
    // The same files, not copies.
    const file = join("node_modules", "zod", "package.json");
    expect(statSync(join(worktree, file)).ino).toBe(statSync(join(clone.dir, file)).ino);
    expect(checkoutState(clone.dir)).toBe(before);

    const pid = await panePid("candidate");
    const again = await runScript("start-candidate.sh", "cand/20261123T101600Z");
    expect(again.stdout).toContain("reused worktree");
    expect(again.stdout).toContain("already running");
    expect(await panePid("candidate")).toBe(pid);
    // Current still serves main, beside it.
    expect((await health(currentPort)).commit).toBe(clone.head);
  }, 120_000);

  test("a branch name that is not a candidate's is refused before any git call", async () => {
    const refused = await runScript("start-candidate.sh", "cand/../../x");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"cand/../../x" is not a candidate branch name');
    // Every shape by the check that start runs first (a process each proved no more): on a folder that is no
    // repository, so a name that got as far as git would fail with another message.
    const nowhere = mkdtempSync(join(tmpdir(), "org-no-repository-"));
    try {
      for (const bad of ["main", "cand/../../x", "cand/20261123T101500Z;touch x", "refs/heads/main", "cand/2026"]) {
        const error = await checkCandidateStartable(new RepoGit(nowhere), bad).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect({ bad, error: error instanceof InstanceStartError && error.message }).toEqual({
          bad,
          error: `${JSON.stringify(bad)} is not a candidate branch name (cand/YYYYMMDDTHHMMSSZ)`,
        });
      }
    } finally {
      rmSync(nowhere, { recursive: true, force: true });
    }
    // What looks like an option is a usage error before anything runs.
    const option = await runScript("start-candidate.sh", "--upload-pack=evil");
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--upload-pack'");
    expect(existsSync(join(clone.dir, ".org", "worktrees", "cand-2026"))).toBe(false);
  }, 60_000);

  test("after a promotion of generated tools only, current takes the new commit without a restart", async () => {
    const pid = await panePid("current");
    gitSync(clone.dir, ["merge", "--quiet", "--no-ff", "-m", "promote cand/20261123T101600Z", "cand/20261123T101600Z"]);
    const promoted = gitSync(clone.dir, ["rev-parse", "HEAD"]).trim();
    const result = await runScript("start-current.sh");
    expect(result.code).toBe(0);
    // The server may have noticed HEAD move by itself first; either way it is the same process.
    expect(result.stdout).toMatch(/took the new commit without a restart|already running/);
    expect(await panePid("current")).toBe(pid);
    const current = await health(currentPort);
    expect(current.commit).toBe(promoted);
    expect(current.tools).toContain("word_count");
  }, 60_000);

  test("a commit current took by itself before its files arrived (main moves first in a promotion) is read again by the next start", async () => {
    const pid = await panePid("current");
    // A commit adding a tool, made in a worktree of its own; then main moves to it and the checkout's files do not.
    // The worktree has main's tree in its index and only the new tool's files on disk: a checkout of all of org's
    // files was most of this file's system time.
    const side = join(clone.dir, ".org", "side-worktree");
    gitSync(clone.dir, ["worktree", "add", "--quiet", "--no-checkout", "--detach", side, "main"]);
    gitSync(side, ["read-tree", "main"]);
    writeGeneratedTool(side, "late_tool");
    gitSync(side, ["add", "--", "tools/generated/late_tool"]);
    gitSync(side, ["commit", "--quiet", "-m", "promote late_tool"]);
    const moved = gitSync(side, ["rev-parse", "HEAD"]).trim();
    expect(gitSync(clone.dir, ["diff", "--name-only", "main", moved]).trim().split("\n")).toEqual(
      ["metadata.json", "tool.test.ts", "tool.ts"].map((file) => `tools/generated/late_tool/${file}`),
    );
    gitSync(clone.dir, ["worktree", "remove", "--force", side]);
    gitSync(clone.dir, ["update-ref", "refs/heads/main", moved]);
    // Told that main moved before the files did (the workspace's event, here published early), the server takes the
    // commit and reads the files as they are, without the tool.
    publishWorkspaceEvent(clone.dir, { type: "main-promoted", branch: "cand/20261123T101700Z", tag: "promote/20261123T101800Z" });
    const deadline = Date.now() + 30_000;
    while ((await health(currentPort)).commit !== moved && Date.now() < deadline) await Bun.sleep(100);
    expect(await health(currentPort)).toMatchObject({ commit: moved });
    expect((await health(currentPort)).tools).not.toContain("late_tool");
    // The files arrive, as a promotion brings them after moving main; the start that follows must read them.
    gitSync(clone.dir, ["reset", "--quiet", "--hard", moved]);
    const result = await runScript("start-current.sh");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("took the new commit without a restart");
    expect(await panePid("current")).toBe(pid);
    expect(await health(currentPort)).toMatchObject({ commit: moved });
    expect((await health(currentPort)).tools).toContain("late_tool");
  }, 90_000);

  test("after a change outside tools/generated/, current is restarted and says so", async () => {
    const pid = await panePid("current");
    Bun.write(join(clone.dir, "room", "NOTES.md"), "a core change\n");
    const changed = commit("a core change");
    const result = await runScript("start-current.sh");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("restarting the running instance");
    expect(result.stdout).toContain("room/NOTES.md");
    expect(result.stdout).toContain("current: restarted; healthy");
    expect(await panePid("current")).not.toBe(pid);
    expect((await health(currentPort)).commit).toBe(changed);
  }, 90_000);

  test("an org server in current's window that serves another checkout is restarted, and the line says why", async () => {
    expect((await runScript("stop.sh", "current")).stdout).toContain("current: stopped.");
    // An org of another checkout: its /health and its reload both name a commit this checkout does not have.
    const elsewhere = "e".repeat(40);
    const standIn = join(clone.dir, ".org", "other-checkout-server.ts");
    Bun.write(
      standIn,
      `const answer = { ok: true, version: "0.0.0-elsewhere", commit: "${elsewhere}", branch: "main", tools: [], uptimeS: 1 };
Bun.serve({ hostname: "127.0.0.1", port: ${currentPort}, fetch: (request) => new URL(request.url).pathname === "/v1/admin/reload"
  ? Response.json({ reloaded: true, previousCommit: "${elsewhere}", commit: "${elsewhere}", added: [], removed: [] })
  : Response.json(answer) });
`,
    );
    await tmux.tmux("new-window", "-d", "-t", `=${session}:`, "-n", "current", `exec ${process.execPath} ${standIn}`);
    const deadline = Date.now() + 20_000;
    while ((await probeHealth(currentPort, 500)).kind !== "org" && Date.now() < deadline) await Bun.sleep(50);
    const result = await runScript("start-current.sh");
    expect(result.code).toBe(0);
    const line = result.stdout.split("\n").find((entry) => entry.startsWith("current: restarting the running instance:"));
    expect(line).toBe(
      `current: restarting the running instance: it answered the reload at ${elsewhere.slice(0, 12)}, not at ${gitSync(clone.dir, ["rev-parse", "HEAD"]).trim().slice(0, 12)} (the HEAD of ${clone.dir}): it runs from another checkout, or HEAD moved meanwhile`,
    );
    expect((await health(currentPort)).version).not.toBe("0.0.0-elsewhere");
  }, 90_000);

  test("a candidate that changes main.ts is refused before it runs, naming the file; nothing starts", async () => {
    candidateBranch("cand/20261123T101700Z", () => Bun.write(join(clone.dir, "main.ts"), 'throw new Error("candidate code ran");\n'));
    const result = await runScript("start-candidate.sh");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("refused to start cand/20261123T101700Z");
    expect(result.stderr).toContain('"main.ts" is outside tools/generated/<tool>/');
    expect(result.all).not.toContain("candidate code ran");
    expect(existsSync(join(clone.dir, ".org", "worktrees", "cand-20261123T101700Z"))).toBe(false);
  }, 90_000);

  test("--config FILE is read inside the instance's own checkout", async () => {
    Bun.write(join(clone.dir, "serve-test.config.json"), JSON.stringify({ serve: { tools: { sh: "allow" } } }));
    commit("a config for the test");
    // The person's own setting (serve runs sh over HTTP), confirmed for the checkout that current serves.
    confirmConfig(join(clone.dir, "serve-test.config.json"), {}, { workspaceDir: clone.dir, checkoutDir: clone.dir });
    const result = await runScript("start-current.sh", "--config", "serve-test.config.json");
    expect(result.code).toBe(0);
    const listing = (await (await fetch(`http://127.0.0.1:${currentPort}/v1/tools`)).json()) as { tools: { name: string; http: string }[] };
    expect(listing.tools.find((tool) => tool.name === "sh")?.http).toBe("allow");
  }, 90_000);

  test("a port taken by another program is named, and nothing is started", async () => {
    expect((await runScript("stop.sh", "current")).stdout).toContain("current: stopped.");
    const squatter = Bun.serve({ port: currentPort, hostname: "127.0.0.1", fetch: () => new Response("not org") });
    try {
      const result = await runScript("start-current.sh");
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${currentPort} is taken by another program`);
      expect(result.stderr).toContain("ORG_CURRENT_PORT");
    } finally {
      squatter.stop(true);
    }
  }, 60_000);

  test("run.sh adds the chat window beside the instances; stop.sh stops them all and the session; a second run is fine", async () => {
    expect((await runScript("start-current.sh")).code).toBe(0);
    const chat = await runScript("run.sh");
    expect(chat.code).toBe(0);
    expect(chat.stdout).toContain(`started org in tmux session '${session}'`);
    const windows = (await tmux.tmux("list-windows", "-t", `=${session}`, "-F", "#{window_name}")).trim().split("\n");
    expect(windows.sort()).toEqual(["candidate", "chat", "current"]);
    expect((await runScript("run.sh")).stdout).toContain("already running");
    const stopped = await runScript("stop.sh");
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`killed tmux session '${session}'`);
    expect(await tmux.hasSession(session)).toBe(false);
    expect((await probeHealth(currentPort, 500)).kind).toBe("none");
    expect((await runScript("stop.sh")).stdout).toContain("nothing to stop");
  }, 60_000);
});
