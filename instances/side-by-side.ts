import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { checkProtectedCore } from "../fitness/protected-core.ts";
import { checkCandidateBranch } from "../git/candidate-branch.ts";
import { candidateStates, LIVE_CANDIDATE_STATES } from "../fitness/candidate-states.ts";
import { newestCandidateBranch, prepareCandidateWorktree } from "../git/candidate-worktree.ts";
import { RepoGit } from "../git/repo-git.ts";
import { orgCommand } from "../config/org-bun-command.ts";
import { type DependencyInstall, installDependencies } from "./install-dependencies.ts";
import { type Probe, probeHealth } from "./health-probe.ts";
import { TmuxWindow } from "./tmux-window.ts";
import { MAIN_REF, branchRef } from "../git/ref-names.ts";
import { OrgError } from "../errors/org-error.ts";

/** Which of the two instances: `main`'s checkout, or a candidate branch's worktree. */
export type InstanceRole = "current" | "candidate";

/** An instance could not be started or did not come up healthy; the message says why and what to do. */
export class InstanceStartError extends OrgError {
  override name = "InstanceStartError";
}

export type InstanceSettings = { port: number; tmuxSession: string; startTimeoutMs: number };

/** What starting an instance did. */
export type StartReport = {
  role: InstanceRole;
  action: "already running" | "hot reloaded" | "started" | "restarted";
  /** Why a running instance was restarted. */
  reason?: string;
  url: string;
  commit: string;
  branch: string | null;
  directory: string;
  window: string;
  dependencies?: DependencyInstall;
};

type Target = { directory: string; commit: string; branchLabel: string | null; dependencies?: DependencyInstall };

/**
 * Runs `serve` for the current checkout or a candidate in its tmux window, and returns once `/health`
 * answers with the expected commit. Safe to run again: a healthy instance at that commit is left alone, a
 * current one at another commit is hot-reloaded when it can be, restarted otherwise.
 */
export async function startInstance(options: {
  role: InstanceRole;
  /** The checkout org runs from: the current instance's, and where candidate worktrees are made. */
  checkoutDir: string;
  /** For a candidate: its branch; default the newest `cand/*`. */
  branch?: string;
  /** `serve --config`: a relative path is taken inside the instance's own checkout (each its own copy). */
  config?: string;
  /** `serve --unsafe-no-sandbox`: the user gave it, with ORG_SANDBOX=off in `env` (checked by the caller). */
  unsafeNoSandbox?: boolean;
  settings: InstanceSettings;
  /** Variables the window gets (OLLAMA_*, ORG_*, PATH…). */
  env: Record<string, string>;
  apiToken?: string;
  /** Progress lines for the person waiting. */
  say?: (line: string) => void;
  signal?: AbortSignal;
}): Promise<StartReport> {
  const { role, settings } = options;
  const say = options.say ?? (() => {});
  const git = new RepoGit(options.checkoutDir);
  const window = new TmuxWindow(settings.tmuxSession, role);
  const windowName = `${settings.tmuxSession}:${role}`;
  const target = role === "current" ? await currentTarget(git) : await candidateTarget(git, options.checkoutDir, options.branch, say, options.signal);
  const report = (action: StartReport["action"], reason?: string): StartReport => ({
    role,
    action,
    ...(reason ? { reason } : {}),
    url: `http://127.0.0.1:${settings.port}`,
    commit: target.commit,
    branch: target.branchLabel,
    directory: target.directory,
    window: windowName,
    ...(target.dependencies ? { dependencies: target.dependencies } : {}),
  });

  const way = await clearTheWay(window, {
    role,
    port: settings.port,
    windowName,
    target,
    say,
    ...(options.apiToken ? { apiToken: options.apiToken } : {}),
  });
  if ("kept" in way) return report(way.kept);
  await window.start(serveCommand(target, settings.port, options), { cwd: target.directory, env: options.env });
  await waitForHealth(window, windowName, settings, target.commit, options.signal);
  return report(way.action, way.reason);
}

/**
 * What stands in the way of starting: a running instance at the target is kept (current hot reloaded), another
 * running one stopped, to be restarted (and why); a port held by anything else is refused.
 */
async function clearTheWay(
  window: TmuxWindow,
  at: { role: InstanceRole; port: number; windowName: string; target: Target; apiToken?: string; say: (line: string) => void },
): Promise<{ kept: "already running" | "hot reloaded" } | { action: "started" | "restarted"; reason?: string }> {
  const { role, port, target } = at;
  const state = await window.state();
  if (state.state !== "running") {
    // Only a port nobody else holds: another server there would answer our health checks in our place.
    const probe = await probeHealth(port, 1_000);
    if (probe.kind === "none") return { action: "started" };
    const who =
      probe.kind === "org"
        ? `an org server (commit ${probe.health.commit?.slice(0, 12) ?? "none"}) not started in tmux window ${at.windowName}`
        : `another program (${probe.detail})`;
    throw new InstanceStartError(`port ${port} is taken by ${who}. Stop it, or choose another port with ORG_${role.toUpperCase()}_PORT.`);
  }
  const probe = await probeHealth(port);
  const atTarget = probe.kind === "org" && probe.health.commit === target.commit;
  if (atTarget && role !== "current") return { kept: "already running" };
  let reason: string;
  // Current reads its tools again even when it names the right commit: its own check of HEAD may have taken a
  // promotion's commit after main moved and before the files arrived, and then serves the old files under it.
  if (probe.kind === "org" && role === "current") {
    const reloaded = await hotReload(port, at.apiToken);
    if (reloaded.ok && reloaded.commit === target.commit) return { kept: atTarget && !reloaded.changed ? "already running" : "hot reloaded" };
    // A reload that went through but took another commit: the server there does not serve this checkout's HEAD.
    reason = reloaded.ok
      ? `it answered the reload at ${reloaded.commit?.slice(0, 12) ?? "no commit"}, not at ` +
        `${target.commit.slice(0, 12)} (the HEAD of ${target.directory}): it runs from another checkout, or HEAD moved meanwhile`
      : reloaded.reason;
  } else {
    reason =
      probe.kind === "org" ? `it ran ${probe.health.commit?.slice(0, 12) ?? "no commit"}` : `its /health did not answer as org (${probe.detail})`;
  }
  at.say(`${role}: restarting the running instance: ${reason}`);
  await window.stop();
  return { action: "restarted", reason };
}

/** `org serve` for the target's checkout, with its own bun when it has one installed. */
function serveCommand(target: Target, port: number, options: { config?: string; unsafeNoSandbox?: boolean }) {
  const bun = existsSync(join(target.directory, "node_modules", ".bin", "bun"))
    ? join(target.directory, "node_modules", ".bin", "bun")
    : process.execPath;
  const config =
    options.config === undefined ? [] : ["--config", isAbsolute(options.config) ? options.config : join(target.directory, options.config)];
  const unsafe = options.unsafeNoSandbox ? ["--unsafe-no-sandbox"] : [];
  return orgCommand(["serve", "--port", String(port), "--workspace", target.directory, ...config, ...unsafe], { bun, checkoutDir: target.directory });
}

async function currentTarget(git: RepoGit): Promise<Target> {
  const commit = await git.resolveCommit("HEAD");
  if (!commit) throw new InstanceStartError(`${git.repoDir} has no commit checked out; the current instance runs a git checkout of main.`);
  return { directory: git.repoDir, commit, branchLabel: (await git.headBranch()) ?? null };
}

/**
 * The protected-core check on the exact commit that will run: a candidate whose diff from its merge base with
 * main touches anything outside tools/generated/<tool>/ is never started, so a started candidate runs code that
 * was main's plus tool files that only ever run in the sandbox. Returns the checked commit.
 */
export async function checkCandidateStartable(git: RepoGit, branch: string, signal?: AbortSignal): Promise<string> {
  try {
    checkCandidateBranch(branch);
  } catch (error) {
    throw new InstanceStartError(error instanceof Error ? error.message : String(error));
  }
  const commit = await git.resolveCommit(branchRef(branch));
  if (!commit) throw new InstanceStartError(`there is no branch ${branch}; 'org candidate list' lists the candidates.`);
  const main = await git.resolveCommit(MAIN_REF);
  if (!main) throw new InstanceStartError(`the repository at ${git.repoDir} has no main branch; a candidate runs beside main.`);
  const base = await git.mergeBase(main, commit, signal);
  if (!base) throw new InstanceStartError(`${branch} (${commit.slice(0, 12)}) shares no history with main; it is not started.`);
  const check = await checkProtectedCore(git, base, commit, { allowCore: false, ...(signal ? { signal } : {}) });
  if (!check.ok) {
    throw new InstanceStartError(
      `refused to start ${branch} (${commit.slice(0, 12)}): ${check.reason}. A candidate runs main's code ` +
        `plus its own tools/generated/<tool>/ files, nothing else; review the change yourself, or delete the branch ('git branch -D ${branch}').`,
    );
  }
  return commit;
}

/** The branch `start candidate` runs when none is named: the newest still in play (untested, pass or stale), else the newest. */
export async function defaultCandidateBranch(git: RepoGit, signal?: AbortSignal): Promise<string | undefined> {
  const live = (await candidateStates(git, signal)).filter((row) => LIVE_CANDIDATE_STATES.includes(row.state)).at(-1)?.branch;
  return live ?? (await newestCandidateBranch(git, signal));
}

async function candidateTarget(
  git: RepoGit,
  checkoutDir: string,
  asked: string | undefined,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<Target> {
  const branch = asked ?? (await defaultCandidateBranch(git, signal));
  if (!branch) throw new InstanceStartError("there is no cand/* branch to run; make one with 'org tool new', or name a branch.");
  const checked = await checkCandidateStartable(git, branch, signal);
  say(`candidate: ${branch} at ${checked.slice(0, 12)} passed the protected-core check (only tools/generated/ differs from main)`);
  let worktree: Awaited<ReturnType<typeof prepareCandidateWorktree>>;
  try {
    // The worktree is made at the checked commit, not at whatever the branch names by then.
    worktree = await prepareCandidateWorktree(git, branch, signal, checked);
  } catch (error) {
    throw new InstanceStartError(error instanceof Error ? error.message : String(error));
  }
  say(`candidate: ${branch} at ${worktree.commit.slice(0, 12)} in ${worktree.directory} (${worktree.reused ? "reused" : "new"} worktree)`);
  const dependencies = await installDependencies(checkoutDir, worktree.directory, signal);
  say(
    `candidate: dependencies ${
      dependencies === "linked"
        ? "linked from the current checkout (same " + "package-lock.json)"
        : dependencies === "kept"
          ? "already installed"
          : "installed with npm ci --offline"
    }`,
  );
  return { directory: worktree.directory, commit: worktree.commit, branchLabel: branch, dependencies };
}

/** Asks current to take the checkout's HEAD; `changed` when that moved its commit or its set of tools. */
async function hotReload(
  port: number,
  apiToken: string | undefined,
): Promise<{ ok: true; commit: string | null; changed: boolean } | { ok: false; reason: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/admin/reload`, {
      method: "POST",
      headers: apiToken ? { authorization: `Bearer ${apiToken}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json().catch(() => ({}))) as {
      reloaded?: boolean;
      commit?: string | null;
      previousCommit?: string | null;
      added?: unknown[];
      removed?: unknown[];
      restartNeeded?: string;
      error?: { message?: string };
    };
    if (response.ok && body.reloaded) {
      const changed = body.previousCommit !== body.commit || (body.added?.length ?? 0) > 0 || (body.removed?.length ?? 0) > 0;
      return { ok: true, commit: body.commit ?? null, changed };
    }
    // Each part is the server's own words, and may be empty: the status says at least what happened.
    return { ok: false, reason: body.restartNeeded?.trim() || body.error?.message?.trim() || `the reload answered HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, reason: `the reload failed: ${error instanceof Error ? error.message || error.name : String(error)}` };
  }
}

async function waitForHealth(
  window: TmuxWindow,
  windowName: string,
  settings: InstanceSettings,
  commit: string,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + settings.startTimeoutMs;
  // A server is usually up within two seconds: ask every 50 ms until then, every 200 ms after.
  const often = Date.now() + 3_000;
  let last: Probe = { kind: "none", detail: "not asked yet" };
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const state = await window.state();
    if (state.state === "absent") throw new InstanceStartError(`tmux window ${windowName} was closed before the server was healthy; start it again.`);
    if (state.state === "dead") {
      // tmux marks a pane dead when its terminal closes; the exit status follows once the process is reaped.
      let dead = state;
      for (let tries = 0; dead.state === "dead" && dead.status === null && tries < 10; tries += 1) {
        await Bun.sleep(100);
        const again = await window.state();
        if (again.state === "dead") dead = again;
      }
      const status = dead.state === "dead" ? dead.status : null;
      const lines = await window.lastLines();
      throw new InstanceStartError(
        `the server in tmux window ${windowName} exited${status !== null ? ` with code ${status}` : ""} ` +
          `before it was healthy. Its last lines:\n${indent(lines)}`,
      );
    }
    last = await probeHealth(settings.port);
    if (last.kind === "org" && last.health.commit === commit) return;
    await Bun.sleep(Date.now() < often ? 50 : 200);
  }
  const seen =
    last.kind === "org"
      ? `/health answered commit ${last.health.commit?.slice(0, 12) ?? "none"}, not ${commit.slice(0, 12)}`
      : `/health: ${last.detail}`;
  throw new InstanceStartError(
    `no healthy answer at commit ${commit.slice(0, 12)} on port ${settings.port} within ` +
      `${Math.round(settings.startTimeoutMs / 1000)} s (${seen}); it is still running in tmux window ` +
      `${windowName}. Its last lines:\n${indent(await window.lastLines())}\nRaise ORG_START_TIMEOUT_S if the machine is slow.`,
  );
}

function indent(text: string): string {
  return text.trim() === ""
    ? "  (the window shows nothing)"
    : text
        .split("\n")
        .map((line) => `  │ ${line}`)
        .join("\n");
}

/** Stops the instances' windows (SIGTERM, then SIGKILL after a grace period). */
export async function stopInstances(
  tmuxSession: string,
  roles: InstanceRole[],
): Promise<{ role: InstanceRole; outcome: "stopped" | "killed" | "absent" }[]> {
  const results = [];
  for (const role of roles) results.push({ role, outcome: await new TmuxWindow(tmuxSession, role).stop() });
  return results;
}
