import { lstatSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import { GROW_DIR, ORG_DIR, TOOLSMITH_WORK_DIR, WORKTREES_DIR } from "../config/workspace-paths.ts";
import { candidateStates, LIVE_CANDIDATE_STATES } from "../fitness/candidate-states.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { Worktree } from "../git/worktree-entry.ts";
import { growLockHolder } from "../grow/grow-lock.ts";
import { TmuxWindow } from "../instances/tmux-window.ts";
import { abandonedRuns } from "../toolsmith/abandoned-runs.ts";
import { backupDirOf } from "../backup/backup-retention.ts";
import { deadOwnersTempDirs } from "../security/owned-temp-dir.ts";
import type { SuperviseContext } from "./supervise-check.ts";

/** Something a run that died left behind. */
export type Leftover = { kind: "worktree" | "window" | "folder" | "file"; path: string; why: string };

const deadPid = (text: string | undefined) => {
  const pid = Number(text);
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isProcessAlive(pid);
};

/** Whether a worktree under `.org/worktrees/` is a dead run's: a toolsmith's or a gate's whose pid is gone, or gone itself. */
function deadRunWorktree(worktree: Worktree): string | undefined {
  const name = basename(worktree.path);
  if (worktree.prunable) return "its folder is gone";
  const toolsmith = /^toolsmith-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1];
  if (toolsmith !== undefined && deadPid(toolsmith)) return `a toolsmith run (pid ${toolsmith}) that died`;
  const gate = /^fitness-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1] ?? /^org fitness pid (\d+)$/.exec(worktree.locked ?? "")?.[1];
  if (gate !== undefined && deadPid(gate)) return `a fitness gate (pid ${gate}) that died`;
  return undefined;
}

/** The candidate worktrees (`cand-<ts>`) nothing runs and whose branch is gone or done with (promoted, rolled back, failed). */
async function doneCandidateWorktrees(
  context: SuperviseContext,
  git: RepoGit,
  worktrees: Worktree[],
  candidateWindow: { state: string },
): Promise<Leftover[]> {
  const candidates = worktrees.filter((worktree) => /^cand-\d{8}T\d{6}Z$/.test(basename(worktree.path)));
  if (candidates.length === 0) return [];
  // A grow run builds and serves candidates in worktrees of its own; while one lives, none of them is a leftover.
  if (growLockHolder(context.workspaceDir) || growLockHolder(context.repoDir)) return [];
  // A candidate instance runs in one of them.
  if (candidateWindow.state === "running") return [];
  const states = new Map((await candidateStates(git, context.signal)).map((row) => [row.branch, row.state]));
  const found: Leftover[] = [];
  for (const worktree of candidates) {
    const branch = basename(worktree.path).replace("cand-", "cand/");
    const state = states.get(branch);
    if (state !== undefined && LIVE_CANDIDATE_STATES.includes(state)) continue;
    found.push({
      kind: "worktree",
      path: worktree.path,
      why: state === undefined ? `the worktree of ${branch}, which is gone` : `the worktree of ${branch}, which is ${state}`,
    });
  }
  return found;
}

/** The folders and files under `.org/` of the workspace and the checkout, and the temporary folders in $TMPDIR, that dead runs left. */
function deadRunFiles(context: SuperviseContext): Leftover[] {
  const found: Leftover[] = [];
  for (const root of [...new Set([context.workspaceDir, context.repoDir])]) {
    for (const name of abandonedRuns(root))
      found.push({ kind: "folder", path: join(root, TOOLSMITH_WORK_DIR, name), why: "a toolsmith or tool run that died" });
    const instances = join(root, GROW_DIR, "instances");
    if (lstatSync(instances, { throwIfNoEntry: false })?.isDirectory() && !growLockHolder(root))
      found.push({ kind: "folder", path: instances, why: "the instances' workspaces of a grow build whose run is over" });
    for (const folder of [join(root, ORG_DIR), join(root, ORG_DIR, "grow"), join(root, ORG_DIR, "supervisor")]) {
      for (const name of safeList(folder)) {
        const pid = /\.(\d+)\.[a-z0-9]{1,8}\.tmp$/.exec(name)?.[1];
        if (pid !== undefined && deadPid(pid))
          found.push({ kind: "file", path: join(folder, name), why: `a temporary file of pid ${pid}, which died` });
      }
    }
  }
  for (const folder of deadOwnersTempDirs(context.tempDir))
    found.push({ kind: "folder", path: folder.path, why: `a temporary folder of org ${folder.kind} (pid ${folder.pid}), which died` });
  const backups = backupDirOf(context.workspaceDir, context.config.backup);
  for (const folder of deadOwnersTempDirs(backups)) found.push({ kind: "folder", path: folder.path, why: "a backup that died before it was whole" });
  for (const name of safeList(backups)) {
    const pid = /^\.partial-(\d+)-|\.(\d+)\.partial$/.exec(name);
    if (pid && deadPid(pid[1] ?? pid[2]))
      found.push({ kind: name.startsWith(".") ? "folder" : "file", path: join(backups, name), why: "a backup that died before it was whole" });
  }
  return found;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Pattern 5: worktrees, candidate instances, tmux windows and temporary folders that runs which died left behind. */
export async function findLeftovers(context: SuperviseContext): Promise<Leftover[]> {
  const git = new RepoGit(context.repoDir);
  const root = join(git.repoDir, WORKTREES_DIR);
  const worktrees = (await git.worktrees(context.signal)).filter((worktree) => worktree.path.startsWith(`${root}/`));
  const found: Leftover[] = [];
  for (const worktree of worktrees) {
    const why = deadRunWorktree(worktree);
    if (why) found.push({ kind: "worktree", path: worktree.path, why });
  }
  const candidate = await new TmuxWindow(context.instance.tmuxSession, "candidate").state().catch(() => ({ state: "absent" as const }));
  found.push(...(await doneCandidateWorktrees(context, git, worktrees, candidate)));
  if (candidate.state === "dead")
    found.push({ kind: "window", path: `${context.instance.tmuxSession}:candidate`, why: "a candidate instance whose server exited" });
  return [...found, ...deadRunFiles(context)];
}

/** Removes one leftover: a worktree through git, a window through tmux, a folder or file from disk. */
export async function removeLeftover(leftover: Leftover, context: SuperviseContext): Promise<void> {
  if (leftover.kind === "worktree") await new RepoGit(context.repoDir).removeWorktree(leftover.path, context.signal);
  else if (leftover.kind === "window") await new TmuxWindow(context.instance.tmuxSession, "candidate").stop(1_000);
  else rmSync(leftover.path, { recursive: true, force: true });
  if (leftover.kind === "worktree") await new RepoGit(context.repoDir).pruneWorktrees(context.signal);
}
